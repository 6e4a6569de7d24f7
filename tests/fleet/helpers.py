"""Processes of a fleet started together against the emulator, with their refreshes made to
overlap on purpose."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

from hoverbentley.emulator import Emulator
from tests.support import cli_env

#: Seconds the first refresh is held for other processes to be seen waiting, at most.
GIVE_UP = 60.0
#: What a process logs (-v) when another holds the refresh.
WAITING = "waiting for another process to refresh the Hover token"


def oauth_env(emu: Emulator, **values: str) -> dict[str, str]:
    """A CLI environment with the emulator's OAuth client and its first refresh token."""
    return cli_env(
        HOVER_CLIENT_ID=emu.config.client_id,
        HOVER_CLIENT_SECRET=emu.config.client_secret,
        HOVER_REFRESH_TOKEN=emu.config.refresh_token,
        HOVER_CURRENT_USER_EMAIL=sorted(emu.config.user_emails)[0],
        HOVER_BASE_URL=emu.hover_url,
        **values,
    )


def expired_tokens(refresh_token: str) -> bytes:
    """Stored tokens whose access token expired an hour ago (a fleet's next morning)."""
    body = {
        "refresh_token": refresh_token,
        "access_token": "gone",
        "expires_at": time.time() - 3600,
    }
    return json.dumps(body).encode()


def expired_token_file(path: Path, refresh_token: str) -> None:
    path.write_bytes(expired_tokens(refresh_token))


def start_together(
    emu: Emulator, command: list[str], env: dict[str, str], count: int, waiters: int = 2
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``count`` processes at once; Hover answers the first refresh only after ``waiters``
    of them said they wait for it, so a test never passes by processes running in turn."""
    gate = threading.Event()
    emu.accounts.gate = gate
    seen = 0
    lock = threading.Lock()
    procs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    errors: list[list[str]] = [[] for _ in procs]
    outputs: list[str] = ["" for _ in procs]

    def read(k: int) -> None:
        nonlocal seen
        stream = procs[k].stderr
        assert stream is not None
        for line in stream:
            errors[k].append(line)
            if WAITING in line:
                with lock:
                    seen += 1
                    if seen >= waiters:
                        gate.set()

    def drain(k: int) -> None:
        stream = procs[k].stdout
        assert stream is not None
        outputs[k] = stream.read()

    def give_up() -> None:
        # If fewer than ``waiters`` ever wait (no lock at all), let the refresh through after
        # a while: the test then fails on its assertions instead of hanging.
        if not gate.wait(GIVE_UP):
            gate.set()

    threads = [threading.Thread(target=f, args=(k,)) for k in range(count) for f in (read, drain)]
    threads.append(threading.Thread(target=give_up))
    for thread in threads:
        thread.start()
    for proc in procs:
        proc.wait(timeout=180)
    for thread in threads:
        thread.join(timeout=60)
    for proc in procs:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    emu.accounts.gate = None
    return [
        subprocess.CompletedProcess(p.args, p.returncode, outputs[k], "".join(errors[k]))
        for k, p in enumerate(procs)
    ]
