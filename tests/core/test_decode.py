from __future__ import annotations

import msgspec
import pytest

from hoverbentley._core.decode import decode_json
from hoverbentley.errors import DecodeError
from hoverbentley.hover.models import Job

DECODER = msgspec.json.Decoder(Job)
URL = "https://hover.to/api/v3/jobs/1?access_token=supersecret99"


def test_wrong_type_names_the_json_path() -> None:
    body = b'{"id": 1, "models": [{"id": "not-a-number"}]}'
    with pytest.raises(DecodeError) as info:
        decode_json(DECODER, body, URL)
    assert info.value.path == "$.models[0].id"
    assert "$.models[0].id" in str(info.value)
    assert "Expected `int`, got `str`" in str(info.value)
    assert "supersecret99" not in str(info.value)


def test_missing_required_field() -> None:
    with pytest.raises(DecodeError, match="missing required field `id`"):
        decode_json(DECODER, b'{"name": "x"}', URL)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"<!DOCTYPE html><html>Sign in</html>", "not valid JSON.*DOCTYPE"),
        (b'{"id": 1', "not valid JSON"),
    ],
)
def test_not_json(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as info:
        decode_json(DECODER, body, URL)
    assert info.value.url is not None
    assert "hover.to/api/v3/jobs/1" in info.value.url
