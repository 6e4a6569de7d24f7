"""Hover's OAuth: access tokens, the single-use refresh token and ``POST /oauth/token``."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..config import EmulatorConfig
from ..host import Host
from ..respond import json_response
from .errors import hover_error


@dataclass
class HoverAccounts:
    """Access tokens issued, and the one refresh token that is valid now."""

    config: EmulatorConfig
    refresh_token: str = ""
    issued: dict[str, float] = field(default_factory=dict)
    refreshes: int = 0
    #: When set, ``POST /oauth/token`` answers only once this event is set (a test holds the
    #: first refresh until other processes are seen waiting for it).
    gate: threading.Event | None = None

    def __post_init__(self) -> None:
        self.refresh_token = self.config.refresh_token

    def valid(self, token: str) -> bool:
        """Whether ``token`` is the static token or an unexpired issued one."""
        if token == self.config.token:
            return True
        expiry = self.issued.get(token)
        return expiry is not None and expiry > time.time()

    def rotate(self) -> dict[str, Any]:
        """Issue a new access token and a new single-use refresh token."""
        self.refreshes += 1
        access = f"emu-access-{self.refreshes}-{secrets.token_hex(8)}"
        self.refresh_token = f"emu-refresh-{self.refreshes}-{secrets.token_hex(8)}"
        self.issued[access] = time.time() + self.config.access_token_ttl
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.config.access_token_ttl,
            "refresh_token": self.refresh_token,
            "scope": "public",
            "created_at": int(time.time()),
            "owner_id": 1001,
            "owner_type": "User",
        }

    def expire_all(self) -> None:
        """Make every issued access token invalid (as if two hours had passed)."""
        self.issued.clear()


class TokenEndpoint:
    """``POST /oauth/token``: the refresh-token grant."""

    def __init__(self, accounts: HoverAccounts, host: Host) -> None:
        self.accounts = accounts
        self.host = host

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Rotate the tokens for a valid refresh grant."""
        config = self.accounts.config
        if config.token_delay > 0:
            await asyncio.sleep(config.token_delay)
        gate = self.accounts.gate
        if gate is not None:
            await asyncio.to_thread(gate.wait)  # set from the test's thread
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return hover_error(400, "invalid_request")
        else:
            body = dict(await request.post())
        if not isinstance(body, dict) or body.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        if (
            body.get("client_id") != config.client_id
            or body.get("client_secret") != config.client_secret
        ):
            return json_response({"error": "invalid_client"}, status=401)
        if body.get("refresh_token") != self.accounts.refresh_token:
            return json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant is invalid,"
                    " expired, revoked or was issued to another client.",
                },
                status=400,
            )
        return json_response(self.accounts.rotate())
