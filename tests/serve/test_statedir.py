"""The state directory's lock: one service per directory, and who holds it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from hoverbentley.serve.statedir import PID_NAME, StateDirLock, StateDirLocked


def test_a_second_lock_names_the_holders_pid_and_host(tmp_path: Path) -> None:
    first = StateDirLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(StateDirLocked) as raised:
            StateDirLock(tmp_path).acquire()
        assert (raised.value.pid, raised.value.host) == (os.getpid(), socket.gethostname())
        assert f"in use by process {os.getpid()} on {socket.gethostname()}:" in str(raised.value)
    finally:
        first.release()
    assert not (tmp_path / PID_NAME).exists()
    again = StateDirLock(tmp_path)  # released: the next start takes it
    again.acquire()
    again.release()


@pytest.mark.parametrize(
    ("written", "holder"),
    [("4242\n", "process 4242:"), ("", "another process:"), ("not a pid", "another process:")],
)
def test_a_pid_file_of_an_earlier_version_or_unreadable_still_gives_a_clear_error(
    tmp_path: Path, written: str, holder: str
) -> None:
    first = StateDirLock(tmp_path)
    first.acquire()
    try:
        (tmp_path / PID_NAME).write_text(written)
        with pytest.raises(StateDirLocked) as raised:
            StateDirLock(tmp_path).acquire()
        assert f"the state directory {tmp_path} is in use by {holder}" in str(raised.value)
    finally:
        first.release()
