"""Bad answers from a server: a clear one-line error naming the URL, a non-zero exit, no hang."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from tests.support import HB, cli_env, serve_in_thread

TOKEN = "tok-DISTINCT-31337"
USER = "u@example.com"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _hover(base: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``hoverbentley hover ARGS`` against the server at ``base``, with a static token."""
    env = cli_env(HOVER_TOKEN=TOKEN, HOVER_CURRENT_USER_EMAIL=USER, HOVER_BASE_URL=base)
    return subprocess.run(
        [*HB, "hover", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


async def malformed(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b'{"id": 1, "name": ', content_type="application/json")


async def wrong_type(request: web.Request) -> web.StreamResponse:
    return web.json_response({"id": "one", "models": []})


async def missing_field(request: web.Request) -> web.StreamResponse:
    return web.json_response({"name": "no id", "models": []})


async def html_200(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text="<!DOCTYPE html><html><body>Sign in</body></html>", content_type="text/html"
    )


async def empty(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"", content_type="application/json")


async def junk(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=b"\x00\xffjunk" * (10 * 1024 * 1024 // 6), content_type="application/json"
    )


async def redirect_loop(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(str(request.rel_url))


async def redirect_ftp(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("ftp://files.example.com/job.json")


async def never_answers(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(60)
    return web.Response()


CASES: list[tuple[str, Handler, str]] = [
    ("malformed", malformed, "not valid JSON"),
    ("wrong_type", wrong_type, "$.id"),
    ("missing_field", missing_field, "missing required field `id`"),
    ("html_200", html_200, "<!DOCTYPE html>"),
    ("empty", empty, "empty body"),
    ("junk", junk, "not valid JSON"),
    ("redirect_loop", redirect_loop, "redirect"),
    ("redirect_ftp", redirect_ftp, "ftp"),
    ("never_answers", never_answers, "read timeout"),
]


@pytest.mark.parametrize(("name", "handler", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_cli_reports_bad_answers_in_one_line(name: str, handler: Handler, fragment: str) -> None:
    seen: list[str] = []

    async def recorded(request: web.Request) -> web.StreamResponse:
        seen.append(request.path_qs)
        return await handler(request)

    app = web.Application()
    app.router.add_get("/api/v3/jobs/{id}", recorded)
    with serve_in_thread(app) as base:
        options = ["--max-retries", "0", "--read-timeout", "1", "--connect-timeout", "1"]
        result = _hover(base, "job", "42", *options, timeout=30)
    # One request (--max-retries 0), or the redirect loop's hops up to where it was seen.
    assert len(seen) == 1 or (name == "redirect_loop" and 1 < len(seen) <= 11), seen
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in lines[0], lines[0]
    assert "/api/v3/jobs/42" in lines[0]
    assert TOKEN not in result.stderr + result.stdout
    assert len(lines[0]) < 600


def test_short_body_is_never_left_at_the_final_path(tmp_path: Path) -> None:
    size = 200_000

    async def job(request: web.Request) -> web.StreamResponse:
        base = f"http://{request.host}"
        return web.json_response(
            {
                "id": 5,
                "models": [
                    {
                        "id": 6,
                        "state": "complete",
                        "artifacts": {"measurements": {"pdf": f"{base}/f/m.pdf"}},
                    }
                ],
            }
        )

    async def short(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(size)})
        await response.prepare(request)
        await response.write(b"x" * (size // 2))
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_get("/api/v3/jobs/{id}", job)
    app.router.add_get("/f/m.pdf", short)
    out = tmp_path / "out"
    with serve_in_thread(app) as base:
        result = _hover(
            base, "archive", str(out), "--job", "5", "--max-retries", "1", "-q", timeout=60
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    final = out / "hover/5/models/6/measurements/pdf.pdf"
    assert not final.exists()
    assert "failed" in result.stdout.lower()
