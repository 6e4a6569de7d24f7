"""``hoverbentley hover webhooks create | verify | list | delete``: Hover's webhooks.

One webhook covers the whole organisation. ``create`` registers a public URL and keeps the
``hmac_secret`` of the answer in ``--secret-file`` (printed only with ``--show-secret``); Hover
then posts a ``webhook-verification-code`` event to the URL, whose code ``verify`` confirms.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from ..hover.webhooks import Webhook, registration
from .common import print_err
from .hover_api import hover_client
from .report import print_deleted
from .secret_file import SecretFile, add_secret_options
from .settings import Handler, HoverAccount, HttpSettings, Output


@dataclass(frozen=True)
class HoverWebhookCreateCommand:
    """``hover webhooks create URL``."""

    url: str
    secret_file: str | None
    show_secret: bool
    account: HoverAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class HoverWebhookVerifyCommand:
    """``hover webhooks verify CODE``."""

    code: str
    account: HoverAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class HoverWebhookListCommand:
    """``hover webhooks list``."""

    show_secret: bool
    account: HoverAccount
    http: HttpSettings
    output: Output


@dataclass(frozen=True)
class HoverWebhookDeleteCommand:
    """``hover webhooks delete ID``."""

    webhook_id: int
    account: HoverAccount
    http: HttpSettings
    output: Output


def webhook_id(text: str) -> int:
    """An argparse type: a Hover webhook id, a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a webhook id: {text!r} (a whole number from 1)")
    return value


def _shown(webhook: Webhook, *, secret: bool) -> dict[str, Any]:
    return {**webhook.public(), "hmac_secret": webhook.hmac_secret} if secret else webhook.public()


def _write_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


async def cmd_create(s: HoverWebhookCreateCommand) -> int:
    registration(s.url)  # a URL Hover would refuse is a usage error, before anything else
    target = SecretFile(s.secret_file, show=s.show_secret)
    target.reserve()
    try:
        async with hover_client(s.account, s.http) as client:
            webhook = await client.create_webhook(s.url)
    except BaseException:
        target.release()
        raise
    target.fill(
        webhook.hmac_secret,
        webhook=f"webhook {webhook.id}",
        advice="'hoverbentley hover webhooks list --show-secret' shows it",
    )
    if s.output.json:
        _write_json(_shown(webhook, secret=s.show_secret))
    else:
        print(f"{webhook.id}\t{'verified' if webhook.verified else 'unverified'}\t{webhook.url}")
        if s.show_secret:
            print(f"secret\t{webhook.hmac_secret}")
    if not s.output.quiet and not s.output.json:
        kept = f"; its secret is in {target.path} (mode 0600)" if target.path else ""
        print_err(
            f"webhook {webhook.id} registered for the organisation{kept}. Hover now posts a"
            f" webhook-verification-code event to {s.url}; no other event comes until its"
            " code is confirmed: hoverbentley hover webhooks verify CODE"
        )
    return 0


async def cmd_verify(s: HoverWebhookVerifyCommand) -> int:
    async with hover_client(s.account, s.http) as client:
        await client.verify_webhook(s.code)
    if s.output.json:
        _write_json({"code": s.code, "verified": True})
    else:
        print(f"{s.code}\tverified")
    return 0


async def cmd_list(s: HoverWebhookListCommand) -> int:
    async with hover_client(s.account, s.http) as client:
        async for webhook in client.iter_webhooks():
            if s.output.json:
                _write_json(_shown(webhook, secret=s.show_secret))
                continue
            state = f"verified {webhook.verified_at}" if webhook.verified else "unverified"
            line = f"{webhook.id}\t{state}\t{webhook.url}\t{webhook.last_error or ''}"
            print(line.rstrip("\t"))
            if s.show_secret:
                print(f"secret\t{webhook.hmac_secret}")
    return 0


async def cmd_delete(s: HoverWebhookDeleteCommand) -> int:
    async with hover_client(s.account, s.http) as client:
        await client.delete_webhook(s.webhook_id)
    print_deleted(s.output, s.webhook_id)
    return 0


def add_webhook_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> list[argparse.ArgumentParser]:
    """Register ``hover webhooks create | verify | list | delete``; return their parsers."""
    webhooks = commands.add_parser(
        "webhooks",
        help="register, confirm, list and delete the organisation's webhooks",
        description="Hover's webhooks (/api/v2/webhooks). One webhook receives the events of"
        " the whole organisation. After 'create', Hover posts a webhook-verification-code event"
        " to the URL; 'verify CODE' confirms it, and only then do events come. The secret that"
        " signs the events goes to --secret-file and is printed only with --show-secret.",
    )
    hooks = webhooks.add_subparsers(dest="hover_webhooks_command", metavar="COMMAND", required=True)

    create = hooks.add_parser(
        "create",
        parents=[common],
        help="register a public URL for the organisation's events",
        description="Register URL, a public https endpoint, for the events of the"
        " organisation. Prints the webhook's id, state and URL; its secret goes to"
        " --secret-file (give it, --show-secret, or both). Exit status 2 for usage errors"
        " (no --secret-file nor --show-secret, an existing --secret-file, a URL that is not"
        " absolute).",
    )
    create.add_argument("url", metavar="URL", help="the public URL events are posted to")
    add_secret_options(create, "Hover")
    create.add_argument("--json", action="store_true", help="print the webhook as JSON")
    create.set_defaults(handler=Handler(HoverWebhookCreateCommand, cmd_create))

    verify = hooks.add_parser(
        "verify",
        parents=[common],
        help="confirm the code of the webhook-verification-code event",
        description="Confirm CODE, the 'code' of the webhook-verification-code event Hover"
        " posted to the webhook's URL (PUT /api/v2/webhooks/CODE/verify).",
    )
    verify.add_argument("code", metavar="CODE", help="the code the event carried")
    verify.add_argument("--json", action="store_true", help="print the outcome as JSON")
    verify.set_defaults(handler=Handler(HoverWebhookVerifyCommand, cmd_verify))

    listing = hooks.add_parser(
        "list",
        parents=[common],
        help="list the organisation's webhooks",
        description="One line per webhook: id, verified (and when) or unverified, URL, and the"
        " last error Hover met posting to it. Secrets only with --show-secret.",
    )
    listing.add_argument(
        "--show-secret", action="store_true", help="also print each webhook's secret"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=Handler(HoverWebhookListCommand, cmd_list))

    delete = hooks.add_parser(
        "delete",
        parents=[common],
        help="delete a webhook (its events stop for good)",
        description="Delete webhook ID: Hover posts it no more events. To receive them again,"
        " create and verify a new one.",
    )
    delete.add_argument("webhook_id", type=webhook_id, metavar="ID", help="the webhook id")
    delete.add_argument("--json", action="store_true", help="print the outcome as JSON")
    delete.set_defaults(handler=Handler(HoverWebhookDeleteCommand, cmd_delete))
    return [create, verify, listing, delete]
