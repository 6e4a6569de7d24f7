"""``hover webhooks`` and ``bentley webhooks`` in real processes against the emulator.

The secret of a new webhook goes to ``--secret-file`` (mode 0600) and appears on stdout or
stderr only with ``--show-secret``; usage mistakes exit 2 before any request.
"""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig

from .helpers import FAST, bentley_env, error_line, hb, hover_env

ITWIN = "122e514a-70f1-4b34-a2b3-1935b0caca43"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator.threaded(EmulatorConfig(jobs=0)) as emulator:
        yield emulator


def hover(emu: Emulator | None, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return hb("hover", "webhooks", *args, *FAST, env=hover_env(emu))


def bentley(emu: Emulator, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = bentley_env(emu, BENTLEY_WEBHOOKS_BASE_URL=emu.webhooks_url)
    return hb("bentley", "webhooks", *args, *FAST, env=env)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def secret_absent(secret: str, result: subprocess.CompletedProcess[str]) -> bool:
    return secret not in result.stdout and secret not in result.stderr


# -- Hover ---------------------------------------------------------------------------------


def test_hover_create_keeps_the_secret_in_a_file_only(emu: Emulator, tmp_path: Path) -> None:
    secret_file = tmp_path / "hover.secret"
    url = "https://hooks.example.com/hover/file"
    result = hover(emu, "create", url, "--secret-file", secret_file, "-vv")
    assert result.returncode == 0, result.stderr
    stored = next(r for r in emu.hover_webhooks.registrations() if r.url == url)
    assert secret_file.read_text() == stored.hmac_secret
    assert mode_of(secret_file) == 0o600
    assert secret_absent(stored.hmac_secret, result)
    assert result.stdout == f"{stored.id}\tunverified\t{url}\n"
    assert "hoverbentley hover webhooks verify CODE" in result.stderr
    assert str(secret_file) in result.stderr


def test_hover_create_shows_the_secret_only_when_asked(emu: Emulator, tmp_path: Path) -> None:
    url = "https://hooks.example.com/hover/shown"
    shown = hover(emu, "create", url, "--show-secret")
    as_json = hover(emu, "create", url, "--show-secret", "--json")
    plain_json = hover(emu, "create", url, "--secret-file", tmp_path / "s", "--json")
    assert shown.returncode == as_json.returncode == plain_json.returncode == 0
    first, second, third = [r for r in emu.hover_webhooks.registrations() if r.url == url]
    assert shown.stdout.splitlines() == [
        f"{first.id}\tunverified\t{url}",
        f"secret\t{first.hmac_secret}",
    ]
    assert first.hmac_secret not in shown.stderr
    assert json.loads(as_json.stdout)["hmac_secret"] == second.hmac_secret
    document = json.loads(plain_json.stdout)
    assert document["id"] == third.id and "hmac_secret" not in document
    assert secret_absent(third.hmac_secret, plain_json) and as_json.stderr == ""


def test_hover_verify_list_and_delete(emu: Emulator, tmp_path: Path) -> None:
    url = "https://hooks.example.com/hover/lifecycle"
    assert hover(emu, "create", url, "--secret-file", tmp_path / "s", "-q").returncode == 0
    stored = next(r for r in emu.hover_webhooks.registrations() if r.url == url)
    verified = hover(emu, "verify", stored.code)
    listed = hover(emu, "list")
    listed_json = hover(emu, "list", "--json")
    with_secrets = hover(emu, "list", "--show-secret")
    assert verified.returncode == 0 and verified.stdout == f"{stored.code}\tverified\n"
    assert stored.verified
    line = next(x for x in listed.stdout.splitlines() if x.startswith(f"{stored.id}\t"))
    assert line == f"{stored.id}\tverified {stored.verified_at}\t{url}"
    assert secret_absent(stored.hmac_secret, listed)
    assert secret_absent(stored.hmac_secret, listed_json)
    documents = [json.loads(x) for x in listed_json.stdout.splitlines()]
    assert all("hmac_secret" not in d for d in documents)
    assert f"secret\t{stored.hmac_secret}" in with_secrets.stdout.splitlines()
    deleted = hover(emu, "delete", str(stored.id))
    assert deleted.returncode == 0 and deleted.stdout == f"{stored.id}\tdeleted\n"
    assert stored.id not in {r.id for r in emu.hover_webhooks.registrations()}
    again = hover(emu, "delete", str(stored.id))
    assert again.returncode == 1 and "404" in error_line(again)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["create", "https://hooks.example.com/x"], ["--secret-file", "--show-secret"]),
        (["create", "hooks.example.com/x", "--show-secret"], ["absolute https:// URL"]),
        (["create", "https://exa mple.com/x", "--show-secret"], ["it holds white space"]),
        (["create", "https://h.example:99999/x", "--show-secret"], ["not a valid URL (Port"]),
        (["create"], ["URL"]),
        (["delete", "twelve"], ["not a webhook id: 'twelve'"]),
        (["verify"], ["CODE"]),
        (["list", "--bogus"], ["unrecognized arguments: --bogus"]),
        ([], ["COMMAND"]),
    ],
)
def test_hover_usage_errors_exit_2(argv: list[str], words: list[str]) -> None:
    result = hover(None, *argv)  # nothing listens: a usage error must stop before a request
    assert result.returncode == 2, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert result.stdout == ""


def test_an_existing_secret_file_is_never_overwritten(emu: Emulator, tmp_path: Path) -> None:
    secret_file = tmp_path / "old.secret"
    secret_file.write_text("the secret of another webhook")
    before = len(emu.requests)
    result = hover(emu, "create", "https://hooks.example.com/x", "--secret-file", secret_file)
    assert result.returncode == 2 and "exists" in error_line(result)
    assert secret_file.read_text() == "the secret of another webhook"
    missing_dir = bentley(
        emu, "create", "https://hooks.example.com/y", "--secret-file", tmp_path / "no" / "s"
    )
    assert missing_dir.returncode == 2 and "cannot create --secret-file" in error_line(missing_dir)
    assert len(emu.requests) == before  # nothing was sent


# -- Bentley -------------------------------------------------------------------------------


def test_bentley_create_activate_list_delete(emu: Emulator, tmp_path: Path) -> None:
    secret_file = tmp_path / "bentley.secret"
    url = "https://hooks.example.com/bentley/lifecycle"
    created = bentley(emu, "create", url, "--secret-file", secret_file, "-vv")
    assert created.returncode == 0, created.stderr
    stored = next(r for r in emu.bentley_webhooks.registrations() if r.callback_url == url)
    assert secret_file.read_text() == stored.secret and mode_of(secret_file) == 0o600
    assert secret_absent(stored.secret, created)
    assert created.stdout == f"{stored.id}\tinactive\t{url}\n" and not stored.active
    assert f"hoverbentley bentley webhooks activate {stored.id}" in created.stderr
    assert stored.scope == "Account" and "realityModeling.jobCompleted.v2" in stored.event_types

    activated = bentley(emu, "activate", stored.id)
    assert activated.returncode == 0 and activated.stdout == f"{stored.id}\tactive\n"
    assert stored.active
    listed = bentley(emu, "list")
    line = next(x for x in listed.stdout.splitlines() if x.startswith(stored.id))
    assert line.split("\t")[:4] == [stored.id, "active", "Account", url]
    as_json = bentley(emu, "list", "--json")
    documents = [json.loads(x) for x in as_json.stdout.splitlines()]
    assert any(d["id"] == stored.id and d["active"] for d in documents)
    assert secret_absent(stored.secret, listed) and secret_absent(stored.secret, as_json)

    deleted = bentley(emu, "delete", stored.id)
    assert deleted.returncode == 0 and deleted.stdout == f"{stored.id}\tdeleted\n"
    assert stored.id not in {r.id for r in emu.bentley_webhooks.registrations()}
    gone = bentley(emu, "activate", stored.id)
    assert gone.returncode == 1 and "WebhookNotFound" in error_line(gone)


def test_bentley_create_with_scope_events_and_shown_secret(emu: Emulator) -> None:
    url = "https://hooks.example.com/bentley/itwin"
    result = bentley(
        emu,
        "create",
        url,
        "--itwin",
        ITWIN,
        "--event",
        "realityModeling.jobCompleted.v2",
        "--event",
        "realityAnalysis.jobCompleted.v1",
        "--show-secret",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    stored = next(r for r in emu.bentley_webhooks.registrations() if r.callback_url == url)
    document = json.loads(result.stdout)
    assert document["secret"] == stored.secret and document["active"] is False
    assert stored.scope == "iTwin" and stored.scope_id == ITWIN
    assert stored.event_types == [
        "realityModeling.jobCompleted.v2",
        "realityAnalysis.jobCompleted.v1",
    ]


def test_a_scheme_in_capitals_is_taken_and_registered_in_lowercase(emu: Emulator) -> None:
    result = bentley(emu, "create", "HTTPS://hooks.example.com/Upper", "--show-secret")
    assert result.returncode == 0, result.stderr
    urls = [r.callback_url for r in emu.bentley_webhooks.registrations()]
    assert "https://hooks.example.com/Upper" in urls


def test_a_refused_registration_leaves_no_secret_file(emu: Emulator, tmp_path: Path) -> None:
    secret_file = tmp_path / "refused.secret"
    result = bentley(
        emu,
        "create",
        "https://hooks.example.com/bentley/refused",
        "--event",
        "realityModeling.jobFinished.v9",
        "--secret-file",
        secret_file,
    )
    assert result.returncode == 1
    assert "422" in error_line(result) and "eventTypes" in result.stderr
    assert not secret_file.exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["create", "http://hooks.example.com/x", "--show-secret"], ["https:// URLs only"]),
        (["create", "https://exa mple.com/x", "--show-secret"], ["it holds white space"]),
        (["create", "https://h.example:99999/x", "--show-secret"], ["not a valid URL (Port"]),
        (["create", "https://hooks.example.com/x"], ["--secret-file", "--show-secret"]),
        (["activate"], ["ID"]),
        (["create", "https://hooks.example.com/x", "--api", "v2"], ["--api"]),
    ],
)
def test_bentley_usage_errors_exit_2(emu: Emulator, argv: list[str], words: list[str]) -> None:
    before = len(emu.requests)
    result = bentley(emu, *argv)
    assert result.returncode == 2, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert len(emu.requests) == before


def test_bentley_credentials_missing_is_a_usage_error(emu: Emulator) -> None:
    env = bentley_env(emu, BENTLEY_WEBHOOKS_BASE_URL=emu.webhooks_url)
    del env["BENTLEY_TOKEN"]
    result = hb("bentley", "webhooks", "list", *FAST, env=env)
    assert result.returncode == 2 and "Bentley credentials missing" in error_line(result)
