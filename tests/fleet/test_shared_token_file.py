"""A fleet shares one Hover authorization through one token file: one refresh per expiry.

Real CLI processes, started together, against the emulator, whose token endpoint rotates
refresh tokens, refuses a reused one, and here waits before it answers so that the processes
really overlap in their refreshes.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import anyio
import pytest

from hoverbentley.auth import JsonFileTokenStore, StoredTokens, TokenStoreError
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import HB

from .helpers import WAITING, expired_token_file, oauth_env, start_together


@pytest.mark.timeout(300)
def test_eight_processes_sharing_a_token_file_refresh_once(tmp_path: Path) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=2, token_delay=0.2)) as emu:
        token_file = tmp_path / "hover-token.json"
        expired_token_file(token_file, emu.config.refresh_token)
        command = [*HB, "-v", "hover", "jobs", "--json", "--token-file", str(token_file)]
        results = start_together(emu, command, oauth_env(emu), 8)

        assert [r.returncode for r in results] == [0] * 8, [r.stderr[-400:] for r in results]
        assert emu.accounts.refreshes == 1  # one refresh for the whole fleet
        # The others waited on the lock (had they run one after another, none would have).
        assert sum(WAITING in r.stderr for r in results) >= 2
        stored = json.loads(token_file.read_text())
        assert stored["refresh_token"] == emu.refresh_token  # the rotated one is kept
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert all("invalid_grant" not in r.stderr for r in results)


def test_without_a_shared_store_the_second_process_is_refused_and_says_which_store(
    tmp_path: Path,
) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=1)) as emu:
        env = oauth_env(emu)
        first = subprocess.run(
            [*HB, "hover", "jobs", "--json", "--token-file", str(tmp_path / "a.json")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert first.returncode == 0, first.stderr
        second = subprocess.run(
            [*HB, "hover", "jobs", "--json", "--token-file", str(tmp_path / "b.json")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "invalid_grant" in second.stderr
        assert f"token store {tmp_path / 'b.json'} (last refreshed never by this package)" in (
            second.stderr
        )


class _FailingFileStore(JsonFileTokenStore):
    """A token file whose write fails (a full or read-only disk) while the refresh succeeds."""

    fail = True

    async def _write(self, tokens: StoredTokens) -> None:
        if self.fail:
            raise OSError(28, "No space left on device")
        await super()._write(tokens)


@pytest.mark.anyio
async def test_a_store_that_fails_during_a_refresh_burns_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoverbentley import HoverClient

    monkeypatch.setenv("HOVERBENTLEY_TOKEN_RECOVERY_DIR", str(tmp_path / "recovery"))
    async with Emulator(EmulatorConfig(jobs=1)) as emu:
        store = _FailingFileStore(tmp_path / "token.json")
        expired = StoredTokens(emu.config.refresh_token, "gone", time.time() - 3600)
        await JsonFileTokenStore(store.path).save(expired)

        def client() -> HoverClient:
            return HoverClient(
                client_id=emu.config.client_id,
                client_secret=emu.config.client_secret,
                token_store=store,
                current_user_email=sorted(emu.config.user_emails)[0],
                base_url=emu.hover_url,
            )

        async with client() as hover:
            with pytest.raises(TokenStoreError) as caught:
                await hover.get_job_record(emu.job_ids()[0])
        message = str(caught.value)
        assert str(store.path) in message and "picks them up" in message
        assert emu.refresh_token not in message  # the new secret is never printed
        kept = list((tmp_path / "recovery").rglob("*.json"))
        assert len(kept) == 1 and stat.S_IMODE(kept[0].stat().st_mode) == 0o600
        assert json.loads(kept[0].read_text())["refresh_token"] == emu.refresh_token

        # The next run, with the store mended, uses the kept tokens: no second refresh.
        store.fail = False
        async with client() as hover:
            record = await hover.get_job_record(emu.job_ids()[0])
        assert record.value.id == emu.job_ids()[0]
        assert emu.accounts.refreshes == 1
        assert json.loads(store.path.read_text())["refresh_token"] == emu.refresh_token
        assert not list((tmp_path / "recovery").rglob("*.json"))
        await anyio.sleep(0)
    assert os.environ.get("HOVERBENTLEY_TOKEN_RECOVERY_DIR") == str(tmp_path / "recovery")


@pytest.mark.parametrize("select", [["--all"], ["--job", "15084303", "--job", "15254733"]])
@pytest.mark.parametrize(
    ("token_file", "status", "said"),
    [
        (b"{not json", 2, "token file {path} is not valid"),
        (b'{"refresh_token": "burnt", "access_token": "gone", "expires_at": 1}', 1, "burnt"),
    ],
    ids=["damaged-file", "refused-refresh"],
)
def test_a_token_store_that_fails_stops_the_run_whatever_selects_the_jobs(
    tmp_path: Path, select: list[str], token_file: bytes, status: int, said: str
) -> None:
    """A token store every job needs is the run's setup: one line and its status, not one
    failure per job (a pod retried over a broken store, exit 1, where 2 stops it)."""
    path = tmp_path / "token.json"
    path.write_bytes(token_file)
    with Emulator.threaded(EmulatorConfig(jobs=2)) as emu:
        out = tmp_path / "out"
        result = subprocess.run(
            [*HB, "hover", "archive", str(out), *select, "--token-file", str(path)],
            env=oauth_env(emu),
            capture_output=True,
            text=True,
            timeout=120,
        )
        requests = [r.path for r in emu.requests if r.path.startswith("/api/v3/jobs")]
    assert result.returncode == status, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("hoverbentley: error: ")
    if status == 2:
        assert line.endswith(said.format(path=path))
    else:
        assert "invalid_grant" in line and f"token store {path}" in line
    assert "failed:" not in line and requests == []
