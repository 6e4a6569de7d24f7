"""The $filter builder: literals, grouping, checks, and agreement with the emulator's evaluator."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoverbentley.bentley.filters import F, Filter, and_, or_, raw, render_filter, validate_top
from hoverbentley.emulator.odata import compile_filter
from hoverbentley.errors import ConfigurationError

ITWIN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def test_each_operator_and_literal_kind() -> None:
    when = datetime(2024, 6, 24, 13, 0, tzinfo=timezone.utc)
    assert str(F.itwin_id.eq(ITWIN)) == f"iTwinId eq {ITWIN}"
    assert str(F.state.ne("failed")) == "state ne 'failed'"
    assert str(F.created_date_time.gt(when)) == "createdDateTime gt 2024-06-24T13:00:00Z"
    assert str(F.created_date_time.le(when)) == "createdDateTime le 2024-06-24T13:00:00Z"
    assert str(F.name.lt("M")) == "name lt 'M'"
    assert str(F.name.ge("A")) == "name ge 'A'"
    ids = [uuid.UUID(int=1), uuid.UUID(int=2)]
    assert str(F.input_id.in_(ids)) == (
        "inputId in ('00000000-0000-0000-0000-000000000001',"
        " '00000000-0000-0000-0000-000000000002')"
    )


def test_quotes_are_doubled_and_other_zones_become_utc() -> None:
    assert str(F.name.eq("O'Brien's")) == "name eq 'O''Brien''s'"
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 6, 24, 15, 0, 0, 250000, tzinfo=paris)
    assert str(F.created_date_time.ge(moment)) == "createdDateTime ge 2024-06-24T13:00:00.25Z"


def test_dates_at_the_ends_of_the_calendar() -> None:
    first = datetime(1, 1, 1, tzinfo=timezone.utc)
    assert str(F.created_date_time.ge(first)) == "createdDateTime ge 0001-01-01T00:00:00Z"
    east = timezone(timedelta(hours=1))
    with pytest.raises(ConfigurationError, match="out of range in UTC"):
        F.created_date_time.ge(datetime(1, 1, 1, tzinfo=east))
    with pytest.raises(ConfigurationError, match="out of range in UTC"):
        F.created_date_time.le(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=1))))


def test_grouping_keeps_or_inside_and() -> None:
    a, b, c = F.state.eq("a"), F.state.eq("b"), F.state.eq("c")
    assert str(a & (b | c)) == "state eq 'a' and (state eq 'b' or state eq 'c')"
    assert str((a & b) | c) == "state eq 'a' and state eq 'b' or state eq 'c'"
    assert str(and_(a, b, c)) == "state eq 'a' and state eq 'b' and state eq 'c'"
    assert str(or_(a, raw("type eq 'Full'"))) == "state eq 'a' or (type eq 'Full')"
    assert str("type eq 'Full'" & a) == "(type eq 'Full') and state eq 'a'"
    assert str("type eq 'Full'" | a) == "(type eq 'Full') or state eq 'a'"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: F.created_date_time.gt(datetime(2024, 1, 1)), "timezone-aware"),
        (lambda: F.state.in_([]), "at least one value"),
        (lambda: F.itwin_id.eq("not-a-guid' or 1 eq 1"), "needs a GUID"),
        (lambda: F.name.eq(5), "needs a string"),  # type: ignore[arg-type]
        (lambda: raw("   "), "empty"),
        (lambda: raw(5), "a Filter or its text, not int 5"),  # type: ignore[arg-type]
        (lambda: F.state.eq("a") & 5, "a Filter or its text, not int 5"),  # type: ignore[operator]
        (lambda: F.state.eq("a") | None, "not NoneType None"),  # type: ignore[operator]
    ],
)
def test_bad_values_are_refused_with_a_clear_message(build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


@pytest.mark.parametrize("top", [0, 1001, -1, True])
def test_top_outside_1_to_1000_is_refused(top: int) -> None:
    with pytest.raises(ConfigurationError, match=r"\$top"):
        validate_top(top)


def test_top_bounds_and_raw_strings_pass() -> None:
    validate_top(1)
    validate_top(1000)
    validate_top(None)
    assert render_filter("  state eq 'x' ") == "state eq 'x'"
    assert render_filter(None) is None


# -- property tests: rendered text is well-formed, and means what the Python predicate means ----

GUIDS = [str(uuid.UUID(int=n * 7919 + 1, version=4)) for n in range(4)]
STATES = ["success", "failed", "active", "O'Brien", "a''b"]
BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)
TIMES = [BASE + timedelta(days=d, microseconds=m) for d in (0, 1, 2) for m in (0, 5)]
STRING_FIELDS = [F.name, F.state, F.type, F.email]
GUID_FIELDS = [F.id, F.itwin_id, F.input_id, F.output_id]
OPS = ["eq", "ne", "lt", "le", "gt", "ge"]


def _stamp(moment: datetime, long_form: bool) -> str:
    if long_form:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond:06d}Z" if moment.microsecond else "Z"
    )


jobs = st.builds(
    lambda name, state, typ, guid, itwin, inputs, outputs, when, long_form: {
        "id": guid,
        "iTwinId": itwin,
        "name": name,
        "state": state,
        "type": typ,
        "email": name,
        "createdDateTime": _stamp(when, long_form),
        "inputs": [{"id": i} for i in inputs],
        "jobSettings": {"outputs": [{"format": "OBJ", "id": o} for o in outputs]},
    },
    st.sampled_from(STATES),
    st.sampled_from(STATES),
    st.sampled_from(STATES),
    st.sampled_from(GUIDS),
    st.sampled_from(GUIDS),
    st.lists(st.sampled_from(GUIDS), max_size=2),
    st.lists(st.one_of(st.none(), st.sampled_from(GUIDS)), max_size=2),
    st.sampled_from(TIMES),
    st.booleans(),
)


def _leaf() -> st.SearchStrategy[Filter]:
    strings = st.builds(
        lambda field, op, value: getattr(field, op)(value),
        st.sampled_from(STRING_FIELDS),
        st.sampled_from(OPS),
        st.sampled_from(STATES),
    )
    guids = st.builds(
        lambda field, op, value: getattr(field, op)(value),
        st.sampled_from(GUID_FIELDS),
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(GUIDS),
    )
    times = st.builds(
        lambda op, value: getattr(F.created_date_time, op)(value),
        st.sampled_from(OPS),
        st.sampled_from(TIMES),
    )
    members = st.builds(
        lambda field, values: field.in_(values),
        st.sampled_from(STRING_FIELDS),
        st.lists(st.sampled_from(STATES), min_size=1, max_size=3),
    )
    guid_members = st.builds(
        lambda field, values: field.in_(values),
        st.sampled_from(GUID_FIELDS),
        st.lists(st.sampled_from(GUIDS), min_size=1, max_size=3),
    )
    return st.one_of(strings, guids, times, members, guid_members)


filters = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: a & b, inner, inner), st.builds(lambda a, b: a | b, inner, inner)
    ),
    max_leaves=8,
)


def _balanced_outside_strings(text: str) -> bool:
    depth, in_string, i = 0, False, 0
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    i += 1
                else:
                    in_string = False
        elif ch == "'":
            in_string = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0 and not in_string


@settings(max_examples=300, deadline=None)
@given(filters, st.lists(jobs, min_size=1, max_size=6))
def test_emulator_evaluates_rendered_filters_like_the_python_predicate(
    expr: Filter, sample: list[dict[str, Any]]
) -> None:
    text = expr.render()
    assert _balanced_outside_strings(text), text
    predicate = compile_filter(text)
    for job in sample:
        assert predicate(job) == expr.matches(job), (text, job)
