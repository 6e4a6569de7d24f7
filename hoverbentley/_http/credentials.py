"""What applies to requests to the provider's API origin: credentials, parameters, headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._core.urls import same_origin
from .request import Response


class Sender(Protocol):
    """What a credential may use to obtain a token: one request, its body read."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        repeatable: bool = False,
    ) -> Response: ...


class Auth(Protocol):
    """Supplies the ``Authorization`` header for requests to the API origin."""

    async def authorization(self, sender: Sender) -> str:
        """The header value to send now (fetching or renewing a token if needed)."""
        ...

    async def refresh(self, sender: Sender, rejected: str) -> bool:
        """The server answered 401 to ``rejected``: renew, and say whether a retry may help."""
        ...

    def secrets(self) -> Iterable[str]:
        """Every secret value this credential holds now, to keep out of messages."""
        ...


@dataclass
class ApiScope:
    """What applies only to requests to the provider's API origin.

    Credentials, the extra query parameters (Hover's current user) and default headers are
    sent to ``base_url``'s origin and never to a host that a redirect leads to.
    """

    base_url: str
    auth: Auth | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def covers(self, url: str) -> bool:
        """Whether ``url`` is on the API origin."""
        return same_origin(url, self.base_url)
