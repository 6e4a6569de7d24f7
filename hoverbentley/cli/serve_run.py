"""What ``hoverbentley serve`` runs: the listener, the clients, the sweeps and the webhooks'
registration (loaded when the command runs; :mod:`.serve` holds its flags)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from aiohttp import web

from .._io.folders import file_in_the_way
from ..archive import ArchiveOptions, ArchiveSummary, archive
from ..archive.bentley_source import BentleySource
from ..archive.hover_source import HoverSource
from ..archive.unfinished import WatchUnfinished
from ..bentley.filters import raw
from ..bentley.reality import RealityManagementClient
from ..errors import ConfigurationError, HoverBentleyError
from ..hover.client import HoverClient
from ..stores import is_local, parse_location
from .bentley_api import bentley_client
from .bentley_webhooks import webhooks_client
from .common import check_out, print_err
from .hover_api import hover_client
from .lastrun import LAST, Incremental
from .secret_file import SecretFile
from .serve import STATE_DIR, Credentials, ServeCommand
from .settings import (
    BentleyAccount,
    HoverAccount,
)

if TYPE_CHECKING:
    from ..serve.archiver import NamedSweep

logger = logging.getLogger("hoverbentley.serve")


def _read_secret(path: str) -> str | None:
    """The secret in ``path`` (``None`` when there is no such file yet)."""
    try:
        return Path(path).expanduser().read_text().strip() or None
    except FileNotFoundError:
        return None


def _state_dir(s: ServeCommand) -> Path:
    if s.state_dir:
        given = Path(s.state_dir).expanduser()
        if (file := file_in_the_way(given)) is not None:
            raise ConfigurationError(f"--state-dir {given}: {file} is a file, not a directory")
        return given
    if not is_local(s.out):
        raise ConfigurationError(
            f"OUT {s.out} is not a local directory: say where the journal goes with --state-dir"
        )
    default = Path(parse_location(s.out).prefix) / STATE_DIR
    if (file := file_in_the_way(default)) is not None:
        raise ConfigurationError(
            f"the state directory {default}: {file} is a file, not a directory (--state-dir"
            " names another)"
        )
    return default


def _public_path(s: ServeCommand) -> str:
    from urllib.parse import urlsplit

    base = s.public_url or s.register
    if base is None:
        return "/hooks/hover"
    return urlsplit(base.rstrip("/")).path + "/hooks/hover"


async def serve(s: ServeCommand) -> int:
    """Run ``serve`` until SIGTERM or Ctrl-C drains it; the exit status."""
    # Here, not at the top: without the serve extra only this command fails (a clear error).
    from ..serve.app import SERVICE, ServeSettings, create_app
    from ..serve.archiver import ArchiverSettings, SourceFactory, sweep_of_all

    check_out(s.out)
    credentials = Credentials.read(s.profile)
    hover_secret = credentials.webhook_secret("hover", s.hover_secret_env)
    if hover_secret is None and s.hover_secret_file:
        hover_secret = await anyio.to_thread.run_sync(_read_secret, s.hover_secret_file)
    bentley_secret = credentials.webhook_secret("bentley", s.bentley_secret_env)
    register_hover = bool(s.register) and (hover_secret is not None or bool(s.hover_secret_file))
    if hover_secret is None and bentley_secret is None and not register_hover:
        raise ConfigurationError(
            f"no webhook secret: set {s.hover_secret_env} (Hover) or {s.bentley_secret_env}"
            " (Bentley), the secrets the webhooks were registered with"
        )
    options = ArchiveOptions(
        concurrency=s.concurrency,
        per_host=s.concurrency,
        detail_concurrency=s.detail_concurrency,
        retries=s.retries,
    )
    async with AsyncExitStack() as stack:
        sources: dict[str, SourceFactory] = {}
        sweeps: list[NamedSweep] = []
        hover: HoverClient | None = None
        if hover_secret is not None or register_hover:
            account = credentials.hover_account()
            hover = await stack.enter_async_context(hover_client(account, s.http))
            sources["hover"] = _hover_source(hover)
            sweeps.append(("hover", _hover_sweep(s.out, hover, account, options)))
        if bentley_secret is not None:
            await _bentley_sources(stack, s, credentials, options, sources, sweeps)

        async def verify(code: str) -> None:
            assert hover is not None
            await hover.verify_webhook(code)
            logger.warning("Hover webhook verified: events follow")

        settings = ServeSettings(
            out=s.out,
            state_dir=_state_dir(s),
            # Registering: the secret is known once the registration tells whether a webhook
            # exists (the one given) or was created (its own); deliveries wait for it.
            hover_secret=None if register_hover else hover_secret,
            bentley_secret=bentley_secret,
            hover_request_uri=_public_path(s),
            queue_size=s.queue_size,
            drain_timeout=s.drain_timeout,
            archiver=ArchiverSettings(
                options=options,
                sweep_interval=s.sweep_interval or None,
                max_attempts=s.job_attempts,
                takeoff=s.takeoff,
            ),
            # A Hover webhook registered below: its verification event may come at once.
            awaiting=frozenset({"hover"} if register_hover else ()),
        )
        app = create_app(
            settings,
            sources,
            sweep=sweep_of_all(sweeps) if sweeps and s.sweep_interval else None,
            # Without --register the code is logged for the user to confirm.
            on_verification_code=verify if register_hover else None,
        )
        service = app[SERVICE]

        async def register() -> None:
            secret = await _register(s, credentials, hover, hover_secret, bentley_secret)
            if secret is not None and register_hover:
                service.set_secret("hover", secret)

        return await _serve(app, s, register if s.register else None)
    return 0  # pragma: no cover - the stack re-raises


async def _serve(
    app: web.Application, s: ServeCommand, listening: Callable[[], Awaitable[None]] | None
) -> int:
    """Listen (then call ``listening``: a registration's events find the service up) until
    SIGTERM (or Ctrl-C), then drain and return 0."""
    from ..serve.app import SERVICE

    sockets = _listening_sockets(s.host, s.port)
    runner = web.AppRunner(app, shutdown_timeout=min(10.0, s.drain_timeout), handle_signals=False)
    try:
        await runner.setup()
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    stopped = anyio.Event()
    received: list[str] = []

    def stop(name: str) -> None:
        received.append(name)
        stopped.set()

    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C as KeyboardInterrupt
        loop.add_signal_handler(signal.SIGTERM, stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, stop, "Ctrl-C")
    try:
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        port = runner.addresses[0][1]
        print_err(f"hoverbentley serve: listening on {_url(s.host, port)}")
        if listening is not None:
            await listening()
        await stopped.wait()
        print_err(f"hoverbentley serve: {received[0]}: draining")
        # Still listening while the run under way ends: deliveries and /readyz are answered
        # 503 (the provider retries later) rather than refused.
        with anyio.CancelScope(shield=True):
            await app[SERVICE].drain()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()  # closes the listener (the service is drained already)
    return 0


def _listening_sockets(host: str, port: int) -> list[socket.socket]:
    """A listening socket on each address of ``host`` (as asyncio's ``create_server`` makes
    them), made before anything starts: a host that is no address is a usage error, a port
    that cannot be had a failure to start, each naming the flags, before a sweep writes."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise ConfigurationError(f"--host {host!r} is no address to listen on: {reason}") from None
    sockets: list[socket.socket] = []
    try:
        for family, _, _, _, address in dict.fromkeys(found):
            sockets.append(socket.create_server(address, family=family, backlog=128))
            sockets[-1].setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise HoverBentleyError(
            f"cannot listen on {host} port {port} (--host, --port): {reason}"
        ) from None
    return sockets


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _hover_source(client: HoverClient) -> Any:
    def source(ids: list[str]) -> HoverSource:
        return HoverSource(client, job_ids=[int(i) for i in ids])

    return source


def _hover_sweep(
    out: str, client: HoverClient, account: HoverAccount, options: ArchiveOptions
) -> Any:
    selection = {  # the selection of `hover archive --all --since last`: one mark for both
        "provider": "hover",
        "base_url": account.base_url.rstrip("/"),
        "user": account.current_user_email or account.current_user_id,
        "archived": False,
        "include": None,
        "exclude": None,
    }

    async def sweep() -> ArchiveSummary:
        marks = Incremental(out, LAST, selection, quiet=True)
        source = HoverSource(client, updated_since=await marks.since())
        summary = await archive(source, out, options)
        await marks.finished(summary.ok)
        return summary

    return sweep


async def _bentley_sources(
    stack: AsyncExitStack,
    s: ServeCommand,
    credentials: Credentials,
    options: ArchiveOptions,
    sources: dict[str, Any],
    sweeps: list[NamedSweep],
) -> None:
    """A client, and a source, per Bentley API an event can name; a sweep with
    ``--bentley-filter`` over the API ``BENTLEY_API`` chooses."""
    routes = (
        ("bentley-v1", "v1", "modeling"),
        ("bentley-v2", "v2", "modeling"),
        ("bentley-analysis", "v2", "analysis"),
    )
    chosen_api = credentials.bentley_api
    for route, api, service in routes:
        account = credentials.bentley_account(api, service)
        client: Any = await stack.enter_async_context(bentley_client(account, s.http))
        reality = await stack.enter_async_context(
            RealityManagementClient(
                base_url=account.reality_url, auth=client.auth, http=client.http
            )
        )

        def source(ids: list[str], client: Any = client, reality: Any = reality) -> BentleySource:
            return BentleySource(client, job_ids=ids, reality=reality)

        sources[route] = source
        if s.bentley_filter and api == chosen_api and service == "modeling":
            sweeps.append(("bentley", _bentley_sweep(s, account, client, reality, options)))


def _bentley_sweep(
    s: ServeCommand, account: BentleyAccount, client: Any, reality: Any, options: ArchiveOptions
) -> Any:
    from ..bentley.filters import F

    assert s.bentley_filter is not None
    selection = {  # the selection of `bentley archive --filter F --since last`
        "provider": "bentley",
        "api": account.api,
        "service": account.service,
        "base_url": account.base_url.rstrip("/"),
        "filter": s.bentley_filter,
        "outputs": None,
        "records_only": False,
    }

    async def sweep() -> ArchiveSummary:
        marks = Incremental(s.out, LAST, selection, quiet=True)
        wanted = raw(s.bentley_filter or "")
        since = await marks.since()
        if since is not None:
            wanted = wanted & F.created_date_time.gt(since)
        source = WatchUnfinished(BentleySource(client, wanted, reality=reality))
        summary = await archive(source, s.out, options)
        await marks.finished(summary.ok, source.oldest)
        return summary

    return sweep


async def _register(
    s: ServeCommand,
    credentials: Credentials,
    hover: HoverClient | None,
    hover_secret: str | None,
    bentley_secret: str | None,
) -> str | None:
    """Register (and for Bentley activate) the webhooks of PUBLIC_URL that are not yet; the
    Hover secret to verify with (a new webhook's, written to ``--hover-secret-file``)."""
    assert s.register is not None
    base = s.register.rstrip("/")
    if hover is not None:
        url = f"{base}/hooks/hover"
        hover_known = [w for w in await hover.list_webhooks() if w.url == url]
        if hover_known and hover_secret is None:
            raise ConfigurationError(
                f"a Hover webhook for {url} exists: set {s.hover_secret_env} to its secret"
            )
        if not hover_known:
            secret_file = SecretFile(s.hover_secret_file, show=False)
            secret_file.reserve()
            try:
                created = await hover.create_webhook(url)
            except BaseException:
                secret_file.release()  # nothing registered: the next --register may write it
                raise
            secret_file.fill(
                created.hmac_secret,
                webhook=f"Hover webhook {created.id}",
                advice="delete it with 'hoverbentley hover webhooks delete' and register again",
            )
            hover_secret = created.hmac_secret
            logger.warning("Hover webhook %s registered for %s; verifying", created.id, url)
    if bentley_secret is not None:
        async with webhooks_client(credentials.webhooks_account(), s.http) as client:
            url = f"{base}/hooks/bentley"
            known = [w for w in await client.list_webhooks() if w.callback_url == url]
            if known:
                webhook_id = known[0].id
                if known[0].active:
                    return hover_secret
            else:
                webhook_id = (await client.create_webhook(url, secret=bentley_secret)).id
            await client.activate_webhook(webhook_id)
            logger.warning("Bentley webhook %s active for %s", webhook_id, url)
    return hover_secret
