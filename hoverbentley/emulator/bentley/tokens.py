"""IMS ``POST /connect/token``: the client-credentials grant."""

from __future__ import annotations

import secrets
import time

from aiohttp import web

from ..host import Host
from ..respond import json_response
from .state import BentleyState


class TokenEndpoint:
    """Issues access tokens for the configured service client."""

    def __init__(self, state: BentleyState, host: Host) -> None:
        self.state = state
        self.host = host

    async def post(self, request: web.Request) -> web.StreamResponse:
        """A bearer token for valid client credentials."""
        state, config = self.state, self.state.config
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        if (
            form.get("client_id") != config.client_id
            or form.get("client_secret") != config.client_secret
        ):
            return json_response({"error": "invalid_client"}, status=400)
        state.tokens_issued += 1
        access = f"emu-bentley-access-{state.tokens_issued}-{secrets.token_hex(8)}"
        state.issued[access] = time.time() + config.access_token_ttl
        return json_response(
            {
                "access_token": access,
                "expires_in": config.access_token_ttl,
                "token_type": "Bearer",
                "scope": str(form.get("scope", "")),
            }
        )
