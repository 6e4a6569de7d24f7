from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from hoverbentley.auth import JsonFileTokenStore, StaticToken, StoredTokens, TokenStoreError
from hoverbentley.errors import ConfigurationError

pytestmark = pytest.mark.anyio


async def test_json_file_store_round_trip_with_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "tokens.json"
    store = JsonFileTokenStore(path)
    assert await store.load() is None
    await store.save(StoredTokens(refresh_token="r-1", access_token="a-1", expires_at=5.0))
    await store.save(StoredTokens(refresh_token="r-2", access_token="a-2", expires_at=9.0))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = await store.load()
    assert loaded == StoredTokens(refresh_token="r-2", access_token="a-2", expires_at=9.0)
    assert [p.name for p in path.parent.iterdir()] == ["tokens.json"]  # no temp files left


async def test_json_file_store_keeps_0600_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = JsonFileTokenStore(tmp_path / "t.json")
        await store.save(StoredTokens(refresh_token="r"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.json").stat().st_mode) == 0o600


async def test_corrupt_token_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match=r"token file .* is not valid"):
        await JsonFileTokenStore(path).load()


def test_reprs_hide_tokens() -> None:
    assert "sekrit" not in repr(StaticToken("sekrit-value"))
    tokens = StoredTokens(refresh_token="sekrit-refresh", access_token="sekrit-access")
    assert "sekrit" not in repr(tokens)


def test_empty_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        StaticToken("  ")


async def test_a_token_file_that_cannot_be_read_or_written_is_named(tmp_path: Path) -> None:
    with pytest.raises(TokenStoreError, match="the token file's path is empty"):
        JsonFileTokenStore(" ")
    (tmp_path / "tokens.json").mkdir()
    store = JsonFileTokenStore(tmp_path / "tokens.json")
    with pytest.raises(
        TokenStoreError, match=r"cannot read the token file .*tokens\.json: Is a dir"
    ):
        await store.load()
    with pytest.raises(TokenStoreError, match=r"cannot write the token file .*tokens\.json: Is a"):
        await store.save(StoredTokens(refresh_token="r"))
    assert (tmp_path / "tokens.json").is_dir()


async def test_a_file_in_the_way_of_the_token_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text("{}")
    store = JsonFileTokenStore(tmp_path / "good.json" / "tok.json")
    expected = f"cannot write the token file {store.path}: {tmp_path / 'good.json'} is a file"
    with pytest.raises(TokenStoreError, match=re.escape(expected)):
        await store.save(StoredTokens(refresh_token="r"))

    async def refresh(current: StoredTokens | None) -> StoredTokens:
        raise AssertionError("no refresh without a lock")

    with pytest.raises(TokenStoreError, match=re.escape(expected)):
        await store.rotate(refresh, lambda stored: False)


async def test_folders_made_for_the_token_file_are_the_owners_only(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        await JsonFileTokenStore(tmp_path / "config" / "tok.json").save(StoredTokens("r"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "config").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "config" / "tok.json").stat().st_mode) == 0o600
