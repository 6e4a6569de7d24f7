"""The emulator's $filter evaluator: precedence, literals and refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hoverbentley.emulator.odata import FilterSyntaxError, compile_filter

G1 = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
G2 = "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"
JOB: dict[str, Any] = {
    "id": G1,
    "iTwinId": G1.upper(),
    "name": "O'Brien site",
    "state": "success",
    "type": "Full",
    "email": "a@example.com",
    "createdDateTime": "2024-06-24T13:00:00.1234567+00:00",
    "inputs": [{"id": G2}],
    "jobSettings": {"outputs": [{"format": "OBJ", "id": None}]},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"iTwinId eq {G1}", True),
        (f"iTwinId eq '{G1}'", True),
        ("name eq 'O''Brien site'", True),
        ("name eq 'o''brien site'", False),
        ("state ne 'success'", False),
        ("state eq 'failed' or state eq 'success' and type eq 'Full'", True),
        ("(state eq 'failed' or state eq 'success') and type eq 'Calibration'", False),
        ("state eq 'failed' or state eq 'success' and type eq 'Calibration'", False),
        ("state in ('failed', 'success')", True),
        (f"inputId in ('{G1}', '{G2}')", True),
        (f"outputId eq {G2}", False),
        ("createdDateTime gt 2024-06-24T13:00:00Z", True),
        ("createdDateTime lt 2024-06-24T13:00:00.2Z", True),
        ("createdDateTime ge '2024-06-24T15:00:00+02:00'", True),
        ("createdDateTime le 2024-06-24T12:59:59Z", False),
        ("name lt 'P' and name gt 'N'", True),
    ],
)
def test_evaluation(text: str, expected: bool) -> None:
    assert compile_filter(text)(JOB) is expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("state eq 'success' and (", "expected a property"),
        ("(state eq 'success'", "expected ')'"),
        ("state eq 'success')", "unexpected ')'"),
        ("state eq 'unterminated", "unterminated"),
        ("colour eq 'red'", "unknown property 'colour'"),
        ("state like 'x'", "expected an operator"),
        ("state eq success", "need quotes"),
        ("iTwinId eq not-a-guid", "not a GUID"),
        ("createdDateTime gt yesterday", "not a datetime"),
        ("state in 'a'", "expected '('"),
        ("state in ('a' 'b')", "expected ',' or ')'"),
        ("state eq 'a' state eq 'b'", "unexpected 'state'"),
        ("(" * 33 + "state eq 'a'" + ")" * 33, "nested more than 32 deep at position 32"),
        ("(" * 100_000 + "state eq 'a'" + ")" * 100_000, "nested more than 32 deep"),
    ],
)
def test_malformed_filters_are_refused_with_the_reason(text: str, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError, match=re.escape(fragment)):
        compile_filter(text)


def test_parentheses_32_deep_are_taken() -> None:
    assert compile_filter("(" * 32 + "state eq 'success'" + ")" * 32)(JOB) is True
