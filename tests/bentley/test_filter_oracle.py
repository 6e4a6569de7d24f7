"""``$filter`` against an independent OData implementation: the emulator's answer (through
RealityModelingClient), the client's ``Filter.matches`` and SQLite agree.

The oracle is ``odata-query``: it parses the filter text the client renders and translates it
into SQL, run over the emulator's Bentley jobs loaded into SQLite. Two rules are not in
odata-query's SQL and are stated here, each decided by the service documentation:

- **Multi-valued properties** (``inputId``, ``outputId``): a comparison holds when it holds for
  any input (output) of the job. The seed page (``tests/seeds/001_…``) gives
  ``inputId in ('482b…', '14c0…')`` as the way to find the jobs using either input, and
  ``docs/bentley-api.md`` lists ``inputId``/``outputId`` as plain filter properties, so each
  comparison is an ``EXISTS`` over the job's inputs (outputs), not one row per combination.
- **``ne`` and null**: ``jobSettings.outputs[].id`` is null until the output exists
  (bentley-api.md). The documents say nothing more about null, so OData v4's own rule decides
  (URL Conventions 5.1.1.1.2: ``ne`` is true when exactly one side is null): a job whose output
  has no id yet matches ``outputId ne X``. SQL's three-valued logic would call it unknown
  (false); the oracle adds ``OR … IS NULL`` to every ``ne``. ``eq``, ``in`` and the order
  comparisons with null are false in both.

Datetimes are compared as instants: the oracle stores them as fixed-width UTC text.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from odata_query import ast
from odata_query.grammar import ODataLexer, ODataParser
from odata_query.sql import AstToSqliteSqlVisitor

from hoverbentley.bentley.filters import F, Filter
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import reality_modeling

EMULATOR = EmulatorConfig(jobs=0)
COLLECTIONS = ("inputId", "outputId")
COLUMNS = ("id", "iTwinId", "name", "email", "type", "state", "createdDateTime")
_FRACTION = re.compile(r"(\.\d{1,6})\d*")
#: odata-query cannot parse a one-item list, ``in ('x')``; the oracle reads it as ``in ('x', 'x')``.
_ONE_ITEM = re.compile(r" in \(('(?:[^']|'')*')\)")


def _instant(text: str) -> str:
    """``text`` (ISO 8601 with an offset) as fixed-width UTC text that sorts as time does."""
    moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


class _Sql(AstToSqliteSqlVisitor):
    """odata-query's SQLite translation, with the two rules of the module docstring."""

    def visit_DateTime(self, node: ast.DateTime) -> str:
        return f"'{_instant(node.val)}'"

    def visit_Compare(self, node: ast.Compare) -> str:
        sql: str = super().visit_Compare(node)
        if isinstance(node.comparator, ast.NotEq):
            sql = f"({sql} OR {self.visit(node.left)} IS NULL)"
        name = node.left.name if isinstance(node.left, ast.Identifier) else None
        if name in COLLECTIONS:
            sql = f'EXISTS (SELECT 1 FROM "{name}" WHERE "{name}".job = jobs.id AND {sql})'  # noqa: S608
        return sql


class Oracle:
    """The emulator's jobs in SQLite, queried with odata-query's translation of a filter."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.db = sqlite3.connect(":memory:")
        names = ", ".join(f'"{c}"' for c in COLUMNS)
        self.db.execute(f"CREATE TABLE jobs ({names})")
        for table in COLLECTIONS:
            self.db.execute(f'CREATE TABLE "{table}" (job, "{table}")')
        for job in jobs:
            row = [job[c] for c in COLUMNS]
            row[COLUMNS.index("createdDateTime")] = _instant(job["createdDateTime"])
            marks = ", ".join("?" * len(row))
            self.db.execute(f"INSERT INTO jobs VALUES ({marks})", row)  # noqa: S608
            for item in job["inputs"]:
                self.db.execute('INSERT INTO "inputId" VALUES (?, ?)', (job["id"], item["id"]))
            for item in job["jobSettings"]["outputs"]:
                self.db.execute('INSERT INTO "outputId" VALUES (?, ?)', (job["id"], item["id"]))

    def select(self, text: str) -> set[str]:
        text = _ONE_ITEM.sub(r" in (\1, \1)", text)
        where = _Sql().visit(ODataParser().parse(ODataLexer().tokenize(text)))
        # The oracle runs SQL built from test-generated filters on an in-memory database.
        rows = self.db.execute(f"SELECT id FROM jobs WHERE {where}")  # noqa: S608
        return {row[0] for row in rows}


@pytest.fixture(scope="module")
def oracle(emu_module: Emulator) -> Iterator[Oracle]:
    db = Oracle(emu_module.bentley_jobs())
    yield db
    db.db.close()


# -- filters built from the values the emulator's jobs really hold, and a few they do not ------

_JOBS = Emulator(EMULATOR).bentley_jobs()
_ABSENT_GUID = "00000000-0000-4000-8000-0000000000ff"


def _values(key: str) -> list[Any]:
    return sorted({j[key] for j in _JOBS})


INPUTS = sorted({i["id"] for j in _JOBS for i in j["inputs"]})
OUTPUTS = sorted({o["id"] for j in _JOBS for o in j["jobSettings"]["outputs"] if o["id"]})
GUIDS = {
    F.id: [*_values("id")[:20], _ABSENT_GUID],
    F.itwin_id: _values("iTwinId"),
    F.input_id: [*INPUTS[:20], _ABSENT_GUID],
    F.output_id: [*OUTPUTS[:20], _ABSENT_GUID],
}
STRINGS = {
    F.name: [*_values("name")[:20], "O'Brien", "M", ""],
    F.state: [*_values("state"), "Success"],
    F.type: _values("type"),
    F.email: _values("email")[:5],
}
_TIMES = [datetime.fromisoformat(_instant(j["createdDateTime"]) + "+00:00") for j in _JOBS[:30]]
TIMES = [t + timedelta(seconds=s) for t in _TIMES for s in (-1, 0, 1)]
ORDER = ["eq", "ne", "lt", "le", "gt", "ge"]


def _leaf() -> st.SearchStrategy[Filter]:
    def compare(table: dict[Any, list[Any]], ops: list[str]) -> st.SearchStrategy[Filter]:
        return st.sampled_from(sorted(table, key=lambda f: f.name)).flatmap(
            lambda field: st.builds(
                lambda op, value: getattr(field, op)(value),
                st.sampled_from(ops),
                st.sampled_from(table[field]),
            )
        )

    def member(table: dict[Any, list[Any]]) -> st.SearchStrategy[Filter]:
        return st.sampled_from(sorted(table, key=lambda f: f.name)).flatmap(
            lambda field: st.lists(st.sampled_from(table[field]), min_size=1, max_size=3).map(
                field.in_
            )
        )

    times = st.builds(
        lambda op, value: getattr(F.created_date_time, op)(value),
        st.sampled_from(ORDER),
        st.sampled_from(TIMES),
    )
    return st.one_of(
        compare(GUIDS, ["eq", "ne"]), compare(STRINGS, ORDER), times, member(GUIDS), member(STRINGS)
    )


filters = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: a & b, inner, inner), st.builds(lambda a, b: a | b, inner, inner)
    ),
    max_leaves=5,
)


def _emulator_answer(emu: Emulator, expr: Filter) -> set[str]:
    async def run() -> set[str]:
        async with reality_modeling(emu) as client:
            return {job.id async for job in client.iter_jobs(expr, top=1000)}

    return asyncio.run(run())


@settings(max_examples=120, deadline=None)
@given(filters)
@example(F.output_id.ne(OUTPUTS[0]))  # jobs whose outputs have no id yet match
@example(F.input_id.eq(INPUTS[0]) & F.input_id.eq(INPUTS[1]))  # any input, per comparison
@example(F.input_id.in_([INPUTS[0], _ABSENT_GUID]))
@example(F.created_date_time.ge(TIMES[1]) & F.name.lt("M"))
def test_emulator_client_and_sql_agree(emu_module: Emulator, oracle: Oracle, expr: Filter) -> None:
    # Naming every iTwin makes the service list all jobs, not only the caller's own.
    scoped = F.itwin_id.in_(GUIDS[F.itwin_id]) & expr
    text = scoped.render()
    expected = oracle.select(text)
    assert {j["id"] for j in emu_module.bentley_jobs() if scoped.matches(j)} == expected, text
    assert _emulator_answer(emu_module, scoped) == expected, text


def test_the_oracle_sees_every_job_and_both_rules_matter(oracle: Oracle) -> None:
    everything = F.itwin_id.in_(GUIDS[F.itwin_id]).render()
    assert len(oracle.select(everything)) == len(_JOBS)
    unset = {j["id"] for j in _JOBS if any(o["id"] is None for o in j["jobSettings"]["outputs"])}
    assert unset and unset <= oracle.select(F.output_id.ne(OUTPUTS[0]).render())
    both = F.input_id.eq(INPUTS[0]) & F.input_id.eq(INPUTS[1])
    holders = {j["id"] for j in _JOBS if {INPUTS[0], INPUTS[1]} <= {i["id"] for i in j["inputs"]}}
    assert oracle.select(both.render()) == holders
