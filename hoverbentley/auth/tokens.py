"""Credentials: static bearer tokens, tokens renewed before they expire, the token grant."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from .._core.decode import decode_json
from .._http.credentials import Sender
from .._http.renewable import Lease, Renewable
from ..errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    HoverBentleyError,
)


class StaticToken:
    """A bearer token that never changes (a 401 is final)."""

    def __init__(self, token: str) -> None:
        if not token or not token.strip():
            raise ConfigurationError("the bearer token is empty")
        if any(c in token.strip() for c in "\r\n\0"):  # never sent: it would split the header
            raise ConfigurationError("the bearer token holds a line break or a NUL character")
        self._token = token.strip()

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    async def authorization(self, sender: Sender) -> str:
        return f"Bearer {self._token}"

    async def refresh(self, sender: Sender, rejected: str) -> bool:
        return False

    def secrets(self) -> Iterable[str]:
        return (self._token,)


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it expires (epoch seconds)."""

    value: str
    expires_at: float

    def __repr__(self) -> str:
        return f"AccessToken(<redacted>, expires_at={self.expires_at})"


class RenewingAuth(ABC):
    """Base for tokens that expire: renewed before they expire and once on a 401.

    Renewal starts ``renew_before`` seconds early (see :class:`~hoverbentley._http.renewable.
    Renewable` for the advisory and mandatory windows). Only one renewal runs at a time;
    callers that arrive meanwhile wait and share its result.
    """

    renew_before: float = 300.0

    def __init__(self) -> None:
        self._token: Renewable[str] | None = None
        self._restored = False
        self._secrets: set[str] = set()

    def _renewable(self, sender: Sender) -> Renewable[str]:
        if self._token is None:

            async def fetch() -> Lease[str]:
                token: AccessToken | None = None
                if not self._restored:
                    self._restored = True
                    token = await self._restore()
                    if token is not None and token.expires_at - self.renew_before <= time.time():
                        token = None
                if token is None:
                    token = await self._renew(sender)
                self._secrets.add(token.value)
                return Lease(token.value, token.expires_at)

            self._token = Renewable(
                fetch, advisory=self.renew_before, mandatory=self.renew_before / 5
            )
        return self._token

    async def authorization(self, sender: Sender) -> str:
        return f"Bearer {await self._renewable(sender).get()}"

    async def refresh(self, sender: Sender, rejected: str) -> bool:
        await self._renewable(sender).renew(rejected.removeprefix("Bearer "))
        return True

    def secrets(self) -> Iterable[str]:
        """Every token this credential has held, and its own secrets (see :meth:`_remember`)."""
        return tuple(self._secrets)

    def _remember(self, *secrets: str | None) -> None:
        """Keep ``secrets`` out of every message from now on."""
        self._secrets.update(s for s in secrets if s)

    async def _restore(self) -> AccessToken | None:
        """A still-valid token saved by an earlier run, if any."""
        return None

    @abstractmethod
    async def _renew(self, sender: Sender) -> AccessToken:
        """Obtain a new access token."""


T = TypeVar("T")


async def request_token(
    sender: Sender,
    url: str,
    decoder: msgspec.json.Decoder[T],
    *,
    refused: Callable[[APIStatusError], HoverBentleyError],
    form: Mapping[str, str] | None = None,
    json: Any = None,
    repeatable: bool = False,
) -> T:
    """POST a token grant (``form`` or ``json``) and decode the answer.

    ``repeatable``: the grant may be sent again after a failure whose effect is unknown (a
    client-credentials grant may; a rotating refresh token's may not: it would be spent).
    A 400 or 401 from the token endpoint becomes the error ``refused`` makes of it.
    """
    try:
        response = await sender.request(
            "POST", url, form=form, json=json, authenticated=False, repeatable=repeatable
        )
    except (BadRequestError, AuthenticationError) as exc:
        raise refused(exc) from None
    return decode_json(decoder, response.body, response.url)
