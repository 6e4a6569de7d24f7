"""The rotated Hover refresh token is never lost: not to a stop during the refresh, nor to
tokens kept aside being picked up by the wrong store or by several processes at once."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from hoverbentley import HoverClient
from hoverbentley.auth import JsonFileTokenStore, StoredTokens
from hoverbentley.auth.token_store import recovery_path
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.emulator.hover.accounts import TokenEndpoint
from tests.support import user_email

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def recovery_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "recovery"
    monkeypatch.setenv("HOVERBENTLEY_TOKEN_RECOVERY_DIR", str(folder))
    return folder


def expired(refresh_token: str) -> StoredTokens:
    return StoredTokens(refresh_token, "gone", time.time() - 3600)


async def test_a_stop_while_the_refresh_is_answered_keeps_the_new_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rotated, release = anyio.Event(), anyio.Event()
    answer = TokenEndpoint.post

    async def rotate_then_wait(self: TokenEndpoint, request: web.Request) -> Any:
        response = await answer(self, request)  # Hover has rotated: the old token is spent
        rotated.set()
        await release.wait()
        return response

    monkeypatch.setattr(TokenEndpoint, "post", rotate_then_wait)
    async with Emulator(EmulatorConfig(jobs=1)) as emu:
        store = JsonFileTokenStore(tmp_path / "token.json")
        await store.save(expired(emu.config.refresh_token))
        hover = HoverClient(
            client_id=emu.config.client_id,
            client_secret=emu.config.client_secret,
            token_store=store,
            current_user_email=user_email(emu),
            base_url=emu.hover_url,
        )
        async with hover, anyio.create_task_group() as group:
            stop = anyio.CancelScope()

            async def fetch() -> None:
                with stop:
                    await hover.get_job_record(emu.job_ids()[0])

            group.start_soon(fetch)
            await rotated.wait()
            stop.cancel()  # SIGTERM or --max-duration, while the answer is on its way
            release.set()
        assert stop.cancelled_caught
        assert emu.accounts.refreshes == 1
        assert json.loads(store.path.read_text())["refresh_token"] == emu.refresh_token


class _FullDisk(JsonFileTokenStore):
    async def _write(self, tokens: StoredTokens) -> None:
        raise OSError(28, "No space left on device")


async def _kept_aside(path: str, tokens: StoredTokens) -> None:
    """Tokens a run refreshed but could not store at ``path``, kept in the recovery file."""

    async def refresh(current: StoredTokens | None) -> StoredTokens:
        return tokens

    with pytest.raises(Exception, match="No space left"):
        await _FullDisk(path).rotate(refresh, lambda stored: False)


async def test_tokens_kept_aside_go_back_to_their_own_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    await _kept_aside("tok.json", StoredTokens("first-refresh", "first-access", 2e9))
    assert recovery_path(str(first / "tok.json")).exists()

    # The same relative name in another directory is another file.
    monkeypatch.chdir(second)
    await JsonFileTokenStore("tok.json").save(StoredTokens("second-refresh"))
    assert (await JsonFileTokenStore("tok.json").load()) == StoredTokens("second-refresh")
    assert json.loads((second / "tok.json").read_text())["refresh_token"] == "second-refresh"

    # The first file, spelled another way, gets its tokens back.
    loaded = await JsonFileTokenStore(first / "." / "tok.json").load()
    assert loaded is not None and loaded.refresh_token == "first-refresh"
    assert json.loads((first / "tok.json").read_text())["refresh_token"] == "first-refresh"
    assert not recovery_path(str(first / "tok.json")).exists()


async def test_processes_starting_together_take_the_kept_tokens_once(tmp_path: Path) -> None:
    path = tmp_path / "tok.json"
    await JsonFileTokenStore(path).save(StoredTokens("spent"))
    await _kept_aside(str(path), StoredTokens("kept-refresh", "kept-access", 2e9))
    loaded: list[StoredTokens | None] = []

    async def start() -> None:  # a store each, as each process has its own
        loaded.append(await JsonFileTokenStore(path).load())

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(start)
    assert [t.refresh_token if t else None for t in loaded] == ["kept-refresh"] * 6
    assert json.loads(path.read_text())["refresh_token"] == "kept-refresh"
    assert not recovery_path(str(path)).exists()
