"""A typed builder for Reality Modeling's OData ``$filter`` (and the ``$top`` check).

>>> str(F.itwin_id.eq(itwin) & (F.state.eq("success") | F.state.eq("failed")))
"iTwinId eq 3fa8... and (state eq 'success' or state eq 'failed')"

Literals follow the service's documentation: ids (GUIDs) bare after a comparison and quoted
inside ``in (...)``; datetimes bare, ISO-8601 in UTC; strings in single quotes with ``'``
doubled. Values are checked as they are built, so nothing can be injected into the filter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

from ..errors import ConfigurationError
from .models import parse_datetime

Kind = Literal["guid", "string", "datetime"]
Op = Literal["eq", "ne", "lt", "le", "gt", "ge"]
Value = str | uuid.UUID | datetime
MAX_TOP = 1000


def validate_top(top: int | None) -> None:
    """Raise :class:`ConfigurationError` unless ``top`` is ``None`` or within 1..1000."""
    if top is None:
        return
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise ConfigurationError(f"$top must be an integer from 1 to {MAX_TOP}, not {top!r}")


class Filter:
    """A ``$filter`` expression; combine with ``&`` (and) and ``|`` (or)."""

    precedence = 3

    def render(self) -> str:
        """The expression as the service reads it."""
        raise NotImplementedError

    def matches(self, job: Mapping[str, Any]) -> bool:
        """Whether a job (a dict in wire form, camelCase) satisfies the expression."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Filter({self.render()!r})"

    def __and__(self, other: FilterLike) -> Filter:
        return and_(self, other)

    def __or__(self, other: FilterLike) -> Filter:
        return or_(self, other)

    def __rand__(self, other: FilterLike) -> Filter:
        return and_(other, self)

    def __ror__(self, other: FilterLike) -> Filter:
        return or_(other, self)


FilterLike = Filter | str


class _Raw(Filter):
    precedence = 0  # unknown inside: always grouped when combined

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ConfigurationError(
                f"a $filter is a Filter or its text, not {type(text).__name__} {text!r}"
            )
        if not text or not text.strip():
            raise ConfigurationError("the $filter is empty")
        self.text = text.strip()

    def render(self) -> str:
        return self.text

    def matches(self, job: Mapping[str, Any]) -> bool:
        raise TypeError("a raw filter string cannot be evaluated locally")


def raw(text: str) -> Filter:
    """A filter given as text, sent as is."""
    return _Raw(text)


class _Logical(Filter):
    def __init__(self, op: Literal["and", "or"], parts: list[Filter]) -> None:
        self.op = op
        self.parts = parts
        self.precedence = 2 if op == "and" else 1

    def render(self) -> str:
        rendered = []
        for part in self.parts:
            text = part.render()
            rendered.append(f"({text})" if part.precedence < self.precedence else text)
        return f" {self.op} ".join(rendered)

    def matches(self, job: Mapping[str, Any]) -> bool:
        test = all if self.op == "and" else any
        return test(part.matches(job) for part in self.parts)


def _combine(op: Literal["and", "or"], parts: Iterable[FilterLike]) -> Filter:
    items = [p if isinstance(p, Filter) else raw(p) for p in parts]
    if not items:
        raise ConfigurationError(f"{op}_() needs at least one expression")
    if len(items) == 1:
        return items[0]
    flat: list[Filter] = []
    for item in items:
        if isinstance(item, _Logical) and item.op == op:
            flat.extend(item.parts)
        else:
            flat.append(item)
    return _Logical(op, flat)


def and_(*parts: FilterLike) -> Filter:
    """All of ``parts``."""
    return _combine("and", parts)


def or_(*parts: FilterLike) -> Filter:
    """Any of ``parts``."""
    return _combine("or", parts)


class _Comparison(Filter):
    def __init__(self, field: Field, op: Op, value: Any) -> None:
        self.field = field
        self.op = op
        self.value = value

    def render(self) -> str:
        return f"{self.field.name} {self.op} {self.field.literal(self.value, quoted=False)}"

    def matches(self, job: Mapping[str, Any]) -> bool:
        wanted = self.value
        for actual in self.field.values(job):
            if actual is None:
                if self.op == "ne":
                    return True
                continue
            if _compare(self.op, actual, wanted):
                return True
        return False


class _In(Filter):
    def __init__(self, field: Field, values: list[Any]) -> None:
        self.field = field
        self.values = values

    def render(self) -> str:
        items = ", ".join(self.field.literal(v, quoted=True) for v in self.values)
        return f"{self.field.name} in ({items})"

    def matches(self, job: Mapping[str, Any]) -> bool:
        return any(v in self.values for v in self.field.values(job) if v is not None)


def _compare(op: Op, actual: Any, wanted: Any) -> bool:
    if op == "eq":
        return bool(actual == wanted)
    if op == "ne":
        return bool(actual != wanted)
    if op == "lt":
        return bool(actual < wanted)
    if op == "le":
        return bool(actual <= wanted)
    if op == "gt":
        return bool(actual > wanted)
    return bool(actual >= wanted)


class Field:
    """A filterable job property."""

    def __init__(self, name: str, kind: Kind, path: tuple[str, ...]) -> None:
        self.name = name
        self.kind = kind
        self._path = path

    def __repr__(self) -> str:
        return f"Field({self.name!r})"

    # -- values -----------------------------------------------------------------------------

    def normalize(self, value: Any) -> Any:
        """The comparable form of a value given by the caller (checked)."""
        if self.kind == "guid":
            try:
                return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
            except ValueError:
                raise ConfigurationError(f"{self.name} needs a GUID, not {value!r}") from None
        if self.kind == "datetime":
            if not isinstance(value, datetime):
                raise ConfigurationError(f"{self.name} needs a datetime, not {value!r}")
            if value.tzinfo is None:
                raise ConfigurationError(
                    f"{self.name} needs a timezone-aware datetime (naive: {value.isoformat()})"
                )
            try:
                return value.astimezone(timezone.utc)
            except OverflowError:  # a zone that moves it past year 1 or 9999
                raise ConfigurationError(
                    f"{self.name}: {value.isoformat()} is out of range in UTC"
                ) from None
        if not isinstance(value, str):
            raise ConfigurationError(f"{self.name} needs a string, not {value!r}")
        if "\x00" in value:
            raise ConfigurationError(f"{self.name} must not contain NUL characters")
        return value

    def literal(self, value: Any, *, quoted: bool) -> str:
        """``value`` written as an OData literal."""
        if self.kind == "guid":
            text = str(value)
            return f"'{text}'" if quoted else text
        if self.kind == "datetime":
            moment: datetime = value
            text = f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S")  # %Y: no padding
            if moment.microsecond:
                text += f".{moment.microsecond:06d}".rstrip("0")
            return f"'{text}Z'" if quoted else f"{text}Z"
        return "'" + str(value).replace("'", "''") + "'"

    def values(self, job: Mapping[str, Any]) -> list[Any]:
        """This property's values in a wire-form job (several for inputId and outputId)."""
        nodes: list[Any] = [job]
        for key in self._path:
            found: list[Any] = []
            for node in nodes:
                item = node.get(key) if isinstance(node, Mapping) else None
                found.extend(item if isinstance(item, list) else [item])
            nodes = found
        if self.kind == "guid":
            return [str(v).lower() if v is not None else None for v in nodes]
        if self.kind == "datetime":
            return [parse_datetime(v) if isinstance(v, str) else None for v in nodes]
        return nodes

    # -- operators --------------------------------------------------------------------------

    def _cmp(self, op: Op, value: Value) -> Filter:
        normalized = self.normalize(value)
        return _Comparison(self, op, normalized.lower() if self.kind == "guid" else normalized)

    def eq(self, value: Value) -> Filter:
        """``name eq value``."""
        return self._cmp("eq", value)

    def ne(self, value: Value) -> Filter:
        """``name ne value``."""
        return self._cmp("ne", value)

    def lt(self, value: Value) -> Filter:
        """``name lt value``."""
        return self._cmp("lt", value)

    def le(self, value: Value) -> Filter:
        """``name le value``."""
        return self._cmp("le", value)

    def gt(self, value: Value) -> Filter:
        """``name gt value``."""
        return self._cmp("gt", value)

    def ge(self, value: Value) -> Filter:
        """``name ge value``."""
        return self._cmp("ge", value)

    def in_(self, values: Iterable[Value]) -> Filter:
        """``name in (v1, v2, ...)``."""
        items = [self.normalize(v) for v in values]
        if not items:
            raise ConfigurationError(f"{self.name} in (...) needs at least one value")
        if self.kind == "guid":
            items = [v.lower() for v in items]
        return _In(self, items)


class F:
    """The job properties the service filters on."""

    id = Field("id", "guid", ("id",))
    itwin_id = Field("iTwinId", "guid", ("iTwinId",))
    name = Field("name", "string", ("name",))
    email = Field("email", "string", ("email",))
    type = Field("type", "string", ("type",))
    state = Field("state", "string", ("state",))
    created_date_time = Field("createdDateTime", "datetime", ("createdDateTime",))
    input_id = Field("inputId", "guid", ("inputs", "id"))
    output_id = Field("outputId", "guid", ("jobSettings", "outputs", "id"))


Grammar = Literal["v1", "v2"]
#: What the v1 grammar has that v2 lacks.
_V1_ONLY = re.compile(r"\b(inputId|outputId)\b|\bin\s*\(")


def render_filter(value: FilterLike | None, grammar: Grammar = "v1") -> str | None:
    """The wire text of a filter, a raw string, or ``None``.

    For the ``v2`` grammar (Reality Modeling and Analysis v2), a filter that uses ``in``,
    ``inputId`` or ``outputId`` is refused with :class:`ConfigurationError` before anything
    is sent: v2 has none of them.
    """
    if value is None:
        return None
    text = value.render() if isinstance(value, Filter) else raw(value).render()
    if grammar == "v2":
        found = _V1_ONLY.search(_without_strings(text))
        if found:
            what = found.group(1) or "in operator"
            raise ConfigurationError(
                f"the v2 $filter has no {what}: filter on id, iTwinId, name, email, type,"
                " state or createdDateTime with eq, ne, lt, le, gt, ge, and, or"
            )
    return text


def _without_strings(text: str) -> str:
    """``text`` with its quoted literals blanked, so a name containing "in (" is not mistaken."""
    return re.sub(r"'(?:[^']|'')*'", "''", text)
