"""``hoverbentley serve OUT``: keep an archive current from Hover and Bentley webhooks.

Credentials and webhook secrets come from the environment or a profile (the ``HOVER_*`` and
``BENTLEY_*`` variables of the ``hover`` and ``bentley`` commands, else the profile's settings;
the secrets from ``HOVER_WEBHOOK_SECRET`` and ``BENTLEY_WEBHOOK_SECRET``, the variables the
flags name, or those the profile's ``webhook_secret_env`` names), never from a flag's value.
SIGTERM drains: deliveries and ``/readyz`` are answered 503 at once, the run under way gets
``--drain-timeout`` seconds (then it is stopped, its files kept for the next start), the
listener closes and the command exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from aiohttp import web

from ..archive import ArchiveOptions, ArchiveSummary, archive
from ..archive.bentley_source import BentleySource
from ..archive.hover_source import HoverSource
from ..archive.unfinished import WatchUnfinished
from ..bentley.auth import IMS_TOKEN_URL
from ..bentley.filters import raw
from ..bentley.reality import DEFAULT_BASE_URL as REALITY_BASE_URL
from ..bentley.reality import RealityManagementClient
from ..errors import ConfigurationError
from ..hover.client import DEFAULT_BASE_URL as HOVER_URL
from ..hover.client import HoverClient
from ..stores import is_local, parse_location
from .bentley_api import bentley_client
from .bentley_webhooks import webhooks_client
from .common import check_out, env, print_err
from .hover_api import DEFAULT_TOKEN_FILE, hover_client
from .lastrun import LAST, Incremental
from .options import add_http_options, add_run_options
from .precedence import unflagged
from .profiles import chosen, load
from .secret_file import SecretFile
from .settings import (
    BentleyAccount,
    BentleyWebhooksAccount,
    Handler,
    HoverAccount,
    HttpSettings,
    Output,
    concern_of,
    non_negative_number,
    positive_int,
    positive_seconds,
)

logger = logging.getLogger("hoverbentley.serve")

HOVER_SECRET_VARIABLE = "HOVER_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
BENTLEY_SECRET_VARIABLE = "BENTLEY_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
#: Where the journal lives in a local OUT.
STATE_DIR = ".hoverbentley/serve"


@dataclass(frozen=True)
class ServeCommand:
    """``serve OUT``: where to listen, the journal, the sweep, the secrets' variables."""

    out: str
    profile: str | None
    host: str
    port: int
    state_dir: str | None
    sweep_interval: float
    drain_timeout: float
    queue_size: int
    register: str | None
    public_url: str | None
    hover_secret_env: str
    bentley_secret_env: str
    hover_secret_file: str | None
    bentley_filter: str | None
    takeoff: bool
    concurrency: int
    detail_concurrency: int
    retries: int
    http: HttpSettings
    output: Output


_HOVER_FIELDS = (
    "token",
    "client_id",
    "client_secret",
    "refresh_token",
    "token_store",
    "current_user_email",
    "current_user_id",
)


@dataclass(frozen=True)
class Credentials:
    """The Hover and Bentley settings ``serve`` runs with: each from its variable, else from
    the profile (``--profile`` or ``HOVERBENTLEY_PROFILE``), as the ``hover`` and ``bentley``
    commands take them when no flag is given (``serve`` has not their flags: they would
    collide)."""

    hover: dict[str, Any]
    bentley: dict[str, Any]
    #: The profile's Bentley base URLs, by variable.
    urls: dict[str, str]

    @classmethod
    def read(cls, profile: str | None) -> Credentials:
        name, _ = chosen(profile)
        loaded = load(name) if name else None
        hover, _ = unflagged("hover", loaded)
        bentley, urls = unflagged("bentley", loaded)
        return cls(hover, bentley, urls)

    def hover_account(self) -> HoverAccount:
        given = {name: self.hover.get(name) for name in _HOVER_FIELDS}
        given["token_file"] = self.hover.get("token_file") or DEFAULT_TOKEN_FILE
        given["base_url"] = self.hover.get("base_url") or HOVER_URL
        account: HoverAccount = concern_of(HoverAccount, given)
        return account

    def _bentley(self, api: str, service: str) -> dict[str, Any]:
        return {
            "api": api,
            "service": service,
            "base_url": None,  # the API's own variable, the profile's, then Bentley's URL
            "token": self.bentley.get("token"),
            "client_id": self.bentley.get("client_id"),
            "client_secret": self.bentley.get("client_secret"),
            "token_url": self.bentley.get("token_url") or IMS_TOKEN_URL,
            "reality_url": self.bentley.get("reality_url") or REALITY_BASE_URL,
        }

    def bentley_account(self, api: str, service: str) -> BentleyAccount:
        account: BentleyAccount = concern_of(BentleyAccount, self._bentley(api, service), self.urls)
        return account

    def webhooks_account(self) -> BentleyWebhooksAccount:
        account: BentleyWebhooksAccount = concern_of(
            BentleyWebhooksAccount, self._bentley("v2", "modeling")
        )
        return account

    @property
    def bentley_api(self) -> str:
        """The API of the Bentley catch-up sweep (``BENTLEY_API``, the profile's ``api``)."""
        return str(self.bentley.get("api") or "v1")

    def webhook_secret(self, provider: str, variable: str) -> str | None:
        """The webhook secret in ``variable``; for the default variable, when it is not set,
        the one in the variable the profile's ``webhook_secret_env`` names."""
        what = provider.capitalize()
        value = _secret(variable, what)
        default = HOVER_SECRET_VARIABLE if provider == "hover" else BENTLEY_SECRET_VARIABLE
        if value is None and variable == default:
            given = self.hover if provider == "hover" else self.bentley
            named = given.get("webhook_secret")
            if named is not None and not str(named).strip():
                raise ConfigurationError(f"the {what} webhook secret of the profile is blank")
            value = str(named).strip() if named else None
        return value


def _secret(variable: str, what: str) -> str | None:
    value = env(variable)
    if value is not None and not value.strip():
        raise ConfigurationError(f"{variable} is blank: the {what} webhook secret is empty")
    return value.strip() if value else None


def _read_secret(path: str) -> str | None:
    """The secret in ``path`` (``None`` when there is no such file yet)."""
    try:
        return Path(path).expanduser().read_text().strip() or None
    except FileNotFoundError:
        return None


def _state_dir(s: ServeCommand) -> Path:
    if s.state_dir:
        return Path(s.state_dir).expanduser()
    if not is_local(s.out):
        raise ConfigurationError(
            f"OUT {s.out} is not a local directory: say where the journal goes with --state-dir"
        )
    return Path(parse_location(s.out).prefix) / STATE_DIR


def _public_path(s: ServeCommand) -> str:
    from urllib.parse import urlsplit

    base = s.public_url or s.register
    if base is None:
        return "/hooks/hover"
    return urlsplit(base.rstrip("/")).path + "/hooks/hover"


async def cmd_serve(s: ServeCommand) -> int:
    # Here, not at the top: without the serve extra only this command fails (a clear error).
    from ..serve.app import SERVICE, ServeSettings, create_app
    from ..serve.archiver import ArchiverSettings, SourceFactory

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
        sweeps: list[Any] = []
        hover: HoverClient | None = None
        if hover_secret is not None or register_hover:
            account = credentials.hover_account()
            hover = await stack.enter_async_context(hover_client(account, s.http))
            sources["hover"] = _hover_source(hover)
            sweeps.append(_hover_sweep(s.out, hover, account, options))
        if bentley_secret is not None:
            await _bentley_sources(stack, s, credentials, options, sources, sweeps)

        async def sweep() -> list[ArchiveSummary]:
            return [await each() for each in sweeps]

        async def verify(code: str) -> None:
            if hover is not None and s.register:
                await hover.verify_webhook(code)
                logger.warning("Hover webhook verified: events follow")

        settings = ServeSettings(
            out=s.out,
            state_dir=_state_dir(s),
            hover_secret=hover_secret,
            bentley_secret=bentley_secret,
            hover_request_uri=_public_path(s),
            queue_size=s.queue_size,
            drain_timeout=s.drain_timeout,
            archiver=ArchiverSettings(
                options=options, sweep_interval=s.sweep_interval or None, takeoff=s.takeoff
            ),
            # A Hover webhook registered below: its verification event may come at once.
            awaiting=frozenset({"hover"} if register_hover and hover_secret is None else ()),
        )
        app = create_app(
            settings,
            sources,
            sweep=sweep if sweeps and s.sweep_interval else None,
            on_verification_code=verify,
        )
        service = app[SERVICE]

        async def register() -> None:
            secret = await _register(s, credentials, hover, hover_secret, bentley_secret)
            if secret is not None and "hover" in settings.awaiting:
                service.set_secret("hover", secret)

        return await _serve(app, s, register if s.register else None)
    return 0  # pragma: no cover - the stack re-raises


async def _serve(
    app: web.Application, s: ServeCommand, listening: Callable[[], Awaitable[None]] | None
) -> int:
    """Listen (then call ``listening``: a registration's events find the service up) until
    SIGTERM (or Ctrl-C), then drain and return 0."""
    from ..serve.app import SERVICE

    runner = web.AppRunner(app, shutdown_timeout=min(10.0, s.drain_timeout), handle_signals=False)
    await runner.setup()
    stopped = anyio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C only
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
    try:
        site = web.TCPSite(runner, s.host, s.port)
        await site.start()
        port = runner.addresses[0][1]
        print_err(f"hoverbentley serve: listening on http://{s.host}:{port}")
        if listening is not None:
            await listening()
        await stopped.wait()
        print_err("hoverbentley serve: SIGTERM: draining")
        # Still listening while the run under way ends: deliveries and /readyz are answered
        # 503 (the provider retries later) rather than refused.
        with anyio.CancelScope(shield=True):
            await app[SERVICE].drain()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()  # closes the listener (the service is drained already)
    return 0


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
    sweeps: list[Any],
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
            sweeps.append(_bentley_sweep(s, account, client, reality, options))


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
            created = await hover.create_webhook(url)
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


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``serve OUT``."""
    parser = subparsers.add_parser(
        "serve",
        parents=[common],
        help="keep an archive current: receive Hover and Bentley webhooks and archive each job",
        description="Run a web service that receives Hover and Bentley webhooks at"
        " POST /hooks/hover and /hooks/bentley, journals each verified event (fsynced before"
        " the answer) and archives its job into OUT as 'hover archive' and 'bentley archive'"
        " do; GET /healthz, /readyz and /metrics (Prometheus). A '--since last' catch-up sweep"
        " runs at start and every --sweep-interval. Credentials come from the HOVER_* and"
        " BENTLEY_* variables or the --profile's settings, the webhook secrets from"
        " HOVER_WEBHOOK_SECRET and BENTLEY_WEBHOOK_SECRET or the variables the profile names"
        " (never from flags); a provider without a secret is not served."
        " SIGTERM drains and exits 0. Exit status: 2 for usage errors, 1 when it cannot start.",
    )
    parser.add_argument(
        "out",
        metavar="OUT",
        help="archive directory, or s3://BUCKET/PREFIX or az://CONTAINER/PREFIX (needs"
        " --state-dir)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free one)"
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help=f"where the journal is kept (default OUT/{STATE_DIR}; required for an object store"
        " OUT)",
    )
    parser.add_argument(
        "--sweep-interval",
        type=non_negative_number,
        default=3600.0,
        metavar="S",
        help="seconds between '--since last' catch-up sweeps, the first at start (default 3600;"
        " 0: only events)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=positive_seconds,
        default=30.0,
        metavar="S",
        help="on SIGTERM, seconds the run under way may take to finish before it is stopped"
        " (its files are resumed at the next start; default 30)",
    )
    parser.add_argument(
        "--queue-size",
        type=positive_int,
        default=1000,
        metavar="N",
        help="jobs that may wait to be archived; an event beyond is answered 503 with"
        " Retry-After, not journaled, and the provider's retry brings it back (default 1000)",
    )
    parser.add_argument(
        "--register",
        metavar="PUBLIC_URL",
        help="at start, register the webhooks PUBLIC_URL/hooks/hover and PUBLIC_URL/hooks/bentley"
        " where none is, activate the Bentley one and confirm Hover's verification code",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the public base URL the Hover webhook was registered with, whose path Hover signs"
        " (default: --register's; else the path /hooks/hover)",
    )
    parser.add_argument(
        "--hover-secret-env",
        default=HOVER_SECRET_VARIABLE,
        metavar="NAME",
        help="the variable holding the Hover webhook's hmac_secret"
        f" (default {HOVER_SECRET_VARIABLE})",
    )
    parser.add_argument(
        "--bentley-secret-env",
        default=BENTLEY_SECRET_VARIABLE,
        metavar="NAME",
        help="the variable holding the Bentley webhook's secret"
        f" (default {BENTLEY_SECRET_VARIABLE})",
    )
    parser.add_argument(
        "--hover-secret-file",
        metavar="PATH",
        help="with --register, where a new Hover webhook's secret is written (a new file, mode"
        " 0600); read at start when the secret variable is not set",
    )
    parser.add_argument(
        "--bentley-filter",
        metavar="EXPR",
        help="OData $filter of the Bentley jobs the catch-up sweep covers (BENTLEY_API's API;"
        " without it Bentley is archived from events only)",
    )
    parser.add_argument(
        "--takeoff",
        action="store_true",
        help="keep OUT/takeoff.csv current: after each run, the rows of the Hover jobs it"
        " archived are replaced (see 'hover takeoff')",
    )
    add_run_options(parser.add_argument_group("archive run"))
    add_http_options(parser)
    parser.set_defaults(handler=Handler(ServeCommand, cmd_serve))
