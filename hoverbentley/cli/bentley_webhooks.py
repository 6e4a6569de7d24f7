"""``hoverbentley bentley webhooks create | list | activate | delete``: iTwin Webhooks v2.

A webhook is created **inactive**; ``activate`` starts its events. ``create`` keeps the secret
of the answer (the service's only copy for us) in ``--secret-file``, printed only with
``--show-secret``. Webhooks v2 takes service applications only (``--client-id`` and
``--client-secret``); its base URL is ``--base-url``, else ``BENTLEY_WEBHOOKS_BASE_URL``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from .._core.text import printable
from ..bentley.defaults import REALITY_EVENTS, WEBHOOKS_URL
from ..errors import ConfigurationError
from .bentley_api import service_credentials
from .common import print_err
from .report import print_deleted
from .secret_file import SecretFile, add_secret_options
from .settings import (
    WEBHOOKS_URL_VARIABLE,
    BentleyWebhooksAccount,
    Handler,
    HttpSettings,
    Output,
)

if TYPE_CHECKING:
    from ..bentley.webhooks import CreatedWebhook, Webhook, WebhooksClient


@dataclass(frozen=True)
class BentleyWebhookCreateCommand:
    """``bentley webhooks create URL``."""

    url: str
    event: list[str] | None
    itwin: str | None
    secret_file: str | None
    show_secret: bool
    account: BentleyWebhooksAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class BentleyWebhookListCommand:
    """``bentley webhooks list``."""

    account: BentleyWebhooksAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class BentleyWebhookActivateCommand:
    """``bentley webhooks activate ID``."""

    webhook_id: str
    account: BentleyWebhooksAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class BentleyWebhookDeleteCommand:
    """``bentley webhooks delete ID``."""

    webhook_id: str
    account: BentleyWebhooksAccount
    http: HttpSettings
    output: Output


def webhooks_client(account: BentleyWebhooksAccount, http: HttpSettings) -> WebhooksClient:
    """The Webhooks v2 client of ``account`` and the HTTP settings."""
    from ..bentley.webhooks import WebhooksClient

    service = service_credentials(account)
    return WebhooksClient(
        token=None if service else account.token,
        client_id=account.client_id,
        client_secret=account.client_secret,
        token_url=account.token_url,
        base_url=account.base_url,
        http=http.for_provider(WebhooksClient.default_requests_per_minute),
    )


def _write_json(webhook: Webhook | CreatedWebhook) -> None:
    sys.stdout.buffer.write(msgspec.json.encode(webhook) + b"\n")


def _line(webhook: Webhook) -> str:
    scope = f"iTwin {webhook.scope_id}" if webhook.scope == "iTwin" else (webhook.scope or "")
    state = "active" if webhook.active else "inactive"
    events = ",".join(webhook.event_types)
    cells = (webhook.id, state, scope, webhook.callback_url or "", events)
    return "\t".join(printable(c) for c in cells)


async def cmd_create(s: BentleyWebhookCreateCommand) -> int:
    if not s.url.lower().startswith("https://"):
        raise ConfigurationError(f"Webhooks v2 posts events to https:// URLs only, not {s.url!r}")
    target = SecretFile(s.secret_file, show=s.show_secret)
    target.reserve()
    try:
        async with webhooks_client(s.account, s.http) as client:
            created = await client.create_webhook(
                s.url, s.event or REALITY_EVENTS, itwin_id=s.itwin
            )
    except BaseException:
        target.release()
        raise
    target.fill(
        created.secret,
        webhook=f"webhook {created.id}",
        advice=f"set a new one with the API (PATCH secret), or delete it:"
        f" hoverbentley bentley webhooks delete {created.id}",
    )
    if s.output.json:
        _write_json(created if s.show_secret else msgspec.structs.replace(created, secret=None))
    else:
        print(f"{created.id}\t{'active' if created.active else 'inactive'}\t{created.callback_url}")
        if s.show_secret:
            print(f"secret\t{created.secret}")
    if not s.output.quiet and not s.output.json:
        kept = f"; its secret is in {target.path} (mode 0600)" if target.path else ""
        print_err(
            f"webhook {created.id} created, inactive{kept}. Start its events with:"
            f" hoverbentley bentley webhooks activate {created.id}"
        )
    return 0


async def cmd_list(s: BentleyWebhookListCommand) -> int:
    async with webhooks_client(s.account, s.http) as client:
        webhooks = await client.list_webhooks()
    for webhook in webhooks:
        if s.output.json:
            _write_json(webhook)
        else:
            print(_line(webhook))
    return 0


async def cmd_activate(s: BentleyWebhookActivateCommand) -> int:
    async with webhooks_client(s.account, s.http) as client:
        webhook = await client.activate_webhook(s.webhook_id)
    if s.output.json:
        _write_json(webhook)
    else:
        print(f"{webhook.id}\t{'active' if webhook.active else 'inactive'}")
    return 0


async def cmd_delete(s: BentleyWebhookDeleteCommand) -> int:
    async with webhooks_client(s.account, s.http) as client:
        await client.delete_webhook(s.webhook_id)
    print_deleted(s.output, s.webhook_id)
    return 0


def add_webhook_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> list[argparse.ArgumentParser]:
    """Register ``bentley webhooks create | list | activate | delete``; return their parsers."""
    webhooks = commands.add_parser(
        "webhooks",
        help="iTwin webhooks (Webhooks v2): create, list, activate, delete",
        description="iTwin Webhooks v2 (https://api.bentley.com/webhooks), for service"
        " applications. A webhook is created inactive: 'activate ID' starts its events. The"
        " secret that signs the events goes to --secret-file and is printed only with"
        " --show-secret.",
    )
    hooks = webhooks.add_subparsers(
        dest="bentley_webhooks_command", metavar="COMMAND", required=True
    )

    create = hooks.add_parser(
        "create",
        parents=[common],
        help="create an (inactive) webhook posting to a public https URL",
        description="Create a webhook posting the events to URL, a public https endpoint:"
        " those of the iTwin --itwin, else of the service application's account. Prints its"
        " id, state (inactive) and URL; its secret goes to --secret-file (give it,"
        " --show-secret, or both). Exit status 2 for usage errors (no --secret-file nor"
        " --show-secret, an existing --secret-file, a URL that is not https).",
    )
    create.add_argument("url", metavar="URL", help="the public https URL events are posted to")
    create.add_argument(
        "--event",
        action="append",
        metavar="TYPE",
        help="an event type to receive (repeatable; default: the reality job completions,"
        f" {', '.join(REALITY_EVENTS)})",
    )
    create.add_argument(
        "--itwin", metavar="ID", help="scope: this iTwin (default: the application's account)"
    )
    add_secret_options(create, "Bentley")
    create.add_argument("--json", action="store_true", help="print the webhook as JSON")
    create.set_defaults(handler=Handler(BentleyWebhookCreateCommand, cmd_create))

    listing = hooks.add_parser(
        "list",
        parents=[common],
        help="list the webhooks",
        description="One line per webhook the service application created: id, active or"
        " inactive, scope, URL, event types (secrets are never listed).",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=Handler(BentleyWebhookListCommand, cmd_list))

    activate = hooks.add_parser(
        "activate",
        parents=[common],
        help="start a webhook's events",
        description="Activate webhook ID (PATCH active: true): events start being posted.",
    )
    activate.add_argument("webhook_id", metavar="ID", help="the webhook id")
    activate.add_argument("--json", action="store_true", help="print the webhook as JSON")
    activate.set_defaults(handler=Handler(BentleyWebhookActivateCommand, cmd_activate))

    delete = hooks.add_parser(
        "delete",
        parents=[common],
        help="delete a webhook (its events stop for good)",
        description="Delete webhook ID: no more events are posted to it.",
    )
    delete.add_argument("webhook_id", metavar="ID", help="the webhook id")
    delete.add_argument("--json", action="store_true", help="print the outcome as JSON")
    delete.set_defaults(handler=Handler(BentleyWebhookDeleteCommand, cmd_delete))

    parsers = [create, listing, activate, delete]
    for parser in parsers:
        parser.add_argument_group("Webhooks API").add_argument(
            "--base-url",
            default=None,
            metavar="URL",
            help=f"Webhooks v2 base URL (default: {WEBHOOKS_URL_VARIABLE}, else {WEBHOOKS_URL})",
        )
    return parsers
