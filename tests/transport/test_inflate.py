"""A compressed body is decompressed a bounded piece at a time, whatever its ratio."""

from __future__ import annotations

import gzip

import pytest

from hoverbentley._http.failures import BodyEncodingError
from hoverbentley._http.inflate import MAX_MEMBERS, STEP, Inflater


def _read_all(inflater: Inflater, received: list[bytes]) -> tuple[bytes, int]:
    """What the pieces decompress to, as a reader takes it; the largest piece handed on."""
    out, largest = [], 0
    pending = list(received)
    while pending:
        piece, rest = inflater.inflate(pending.pop(0))
        largest = max(largest, len(piece))
        out.append(piece)
        if rest:
            pending.insert(0, rest)
    inflater.end()
    return b"".join(out), largest


def test_a_small_piece_that_inflates_to_much_more_is_handed_on_in_steps() -> None:
    data = bytes(20 * STEP)  # 20 MiB of zeros: about 20 KiB compressed
    packed = gzip.compress(data)
    assert len(packed) < STEP // 16
    got, largest = _read_all(Inflater("gzip"), [packed])
    assert got == data
    assert largest <= STEP


def test_gzip_members_are_read_one_after_another_up_to_a_bound() -> None:
    parts = [f"part {n};".encode() * 100 for n in range(5)]
    got, _ = _read_all(Inflater("gzip"), [b"".join(gzip.compress(p) for p in parts)])
    assert got == b"".join(parts)
    with pytest.raises(BodyEncodingError, match=f"more than {MAX_MEMBERS} members"):
        _read_all(Inflater("gzip"), [gzip.compress(b"x") * (MAX_MEMBERS + 1)])
