"""The emulator's own evaluator of Reality Modeling ``$filter`` expressions (an OData subset).

Grammar (keywords lowercase, as OData writes them)::

    expr   := term ("or" term)*
    term   := factor ("and" factor)*
    factor := "(" expr ")" | PROPERTY OP literal | PROPERTY "in" "(" literal ("," literal)* ")"

Literals: ``'text'`` (``''`` is a quote), bare GUIDs, bare ISO-8601 datetimes (quoted forms of
both are accepted too), numbers. The v2 grammar (Reality Modeling v2, Reality Analysis v2) has
neither ``in`` nor the properties ``inputId`` and ``outputId``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

Grammar = Literal["v1", "v2"]
Predicate = Callable[[Mapping[str, Any]], bool]

PROPERTIES: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "iTwinId": ("iTwinId",),
    "name": ("name",),
    "email": ("email",),
    "type": ("type",),
    "state": ("state",),
    "createdDateTime": ("createdDateTime",),
    "inputId": ("inputs", "id"),
    "outputId": ("jobSettings", "outputs", "id"),
}
V1_ONLY = frozenset({"inputId", "outputId"})
GUID_PROPERTIES = frozenset({"id", "iTwinId", "inputId", "outputId"})
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<open>\()|(?P<close>\))|(?P<comma>,)"
    r"|(?P<word>[^\s(),']+))"
)
_FRACTION = re.compile(r"(\.\d{6})\d+")


#: How deep parentheses may nest: a filter past it is refused (400), not a recursion error.
MAX_NESTING = 32


class FilterSyntaxError(ValueError):
    """A ``$filter`` the service would refuse; the message names the position."""


def parse_datetime(text: str) -> datetime:
    """An aware datetime from ISO-8601 with ``Z`` or an offset and up to 7 fraction digits."""
    cleaned = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00")
    moment = datetime.fromisoformat(cleaned)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterSyntaxError(
                f"unexpected character at position {pos}: {text[pos : pos + 10]!r}"
            )
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    if any(kind == "word" and value.startswith("'") for kind, value, _ in out):
        raise FilterSyntaxError("unterminated string literal")
    return out


class _Parser:
    def __init__(self, text: str, grammar: Grammar = "v1") -> None:
        self.grammar = grammar
        if "'" in text and text.count("'") % 2:
            raise FilterSyntaxError("unterminated string literal")
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, what: str) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise FilterSyntaxError(f"expected {what} at the end of the filter")
        self.index += 1
        return token

    def expr(self) -> Predicate:
        parts = [self.term()]
        while (token := self.peek()) is not None and token[:2] == ("word", "or"):
            self.index += 1
            parts.append(self.term())
        if len(parts) == 1:
            return parts[0]
        return lambda job: any(p(job) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while (token := self.peek()) is not None and token[:2] == ("word", "and"):
            self.index += 1
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda job: all(p(job) for p in parts)

    def factor(self) -> Predicate:
        kind, value, pos = self.take("a property or '('")
        if kind == "open":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise FilterSyntaxError(
                    f"parentheses nested more than {MAX_NESTING} deep at position {pos}"
                )
            inner = self.expr()
            self.depth -= 1
            kind, value, pos = self.take("')'")
            if kind != "close":
                raise FilterSyntaxError(f"expected ')' at position {pos}, found {value!r}")
            return inner
        known_props = [p for p in PROPERTIES if self.grammar == "v1" or p not in V1_ONLY]
        if kind != "word" or value not in known_props:
            known = ", ".join(known_props)
            raise FilterSyntaxError(
                f"unknown property {value!r} at position {pos} (filterable: {known})"
            )
        prop = value
        kind, op, pos = self.take("an operator")
        if self.grammar == "v2" and (kind, op) == ("word", "in"):
            raise FilterSyntaxError(f"the operator 'in' at position {pos} is not supported")
        if kind != "word" or op not in COMPARISONS | {"in"}:
            raise FilterSyntaxError(f"expected an operator at position {pos}, found {op!r}")
        if op == "in":
            kind, value, pos = self.take("'('")
            if kind != "open":
                raise FilterSyntaxError(f"expected '(' after 'in' at position {pos}")
            items = [self.literal(prop)]
            while True:
                kind, value, pos = self.take("',' or ')'")
                if kind == "close":
                    break
                if kind != "comma":
                    raise FilterSyntaxError(f"expected ',' or ')' at position {pos}")
                items.append(self.literal(prop))
            return _membership(prop, items)
        return _comparison(prop, op, self.literal(prop))

    def literal(self, prop: str) -> Any:
        kind, value, pos = self.take("a value")
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind != "word":
            raise FilterSyntaxError(f"expected a value at position {pos}, found {value!r}")
        if prop == "createdDateTime":
            try:
                return parse_datetime(value)
            except ValueError:
                raise FilterSyntaxError(f"not a datetime at position {pos}: {value!r}") from None
        if prop in GUID_PROPERTIES:
            if not re.fullmatch(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}", value):
                raise FilterSyntaxError(f"not a GUID at position {pos}: {value!r}")
            return value.lower()
        if kind == "word":
            raise FilterSyntaxError(f"string values need quotes at position {pos}: {value!r}")
        return value


def _values(job: Mapping[str, Any], prop: str) -> list[Any]:
    nodes: list[Any] = [job]
    for key in PROPERTIES[prop]:
        found: list[Any] = []
        for node in nodes:
            item = node.get(key) if isinstance(node, Mapping) else None
            found.extend(item if isinstance(item, list) else [item])
        nodes = found
    if prop == "createdDateTime":
        return [parse_datetime(v) if isinstance(v, str) else None for v in nodes]
    if prop in GUID_PROPERTIES:
        return [v.lower() if isinstance(v, str) else None for v in nodes]
    return nodes


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
}


def _comparison(prop: str, op: str, wanted: Any) -> Predicate:
    test = _OPS[op]

    def predicate(job: Mapping[str, Any]) -> bool:
        for actual in _values(job, prop):
            if actual is None:
                if op == "ne":
                    return True
                continue
            if test(actual, wanted):
                return True
        return False

    return predicate


def _membership(prop: str, items: list[Any]) -> Predicate:
    return lambda job: any(v in items for v in _values(job, prop) if v is not None)


def compile_filter(text: str, grammar: Grammar = "v1") -> Predicate:
    """A predicate over wire-form jobs; :class:`FilterSyntaxError` if ``text`` is malformed
    (or uses what ``grammar`` lacks)."""
    if not text or not text.strip():
        raise FilterSyntaxError("the filter is empty")
    parser = _Parser(text, grammar)
    predicate = parser.expr()
    if (token := parser.peek()) is not None:
        raise FilterSyntaxError(f"unexpected {token[1]!r} at position {token[2]}")
    return predicate
