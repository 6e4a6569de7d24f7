"""A secret that expires (an access token, a SAS URL), renewed early and on rejection."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

from ..errors import HoverBentleyError

logger = logging.getLogger("hoverbentley")
T = TypeVar("T")


@dataclass(frozen=True)
class Lease(Generic[T]):
    """A value and when it expires (epoch seconds; ``None``: not known, valid until rejected)."""

    value: T
    expires_at: float | None = None


class Renewable(Generic[T]):
    """Holds a :class:`Lease` and renews it through ``fetch``.

    Inside the *advisory* window before expiry one caller renews while the others go on with
    the current value (a failed renewal is logged, the value still valid); inside the
    *mandatory* window every caller waits for the renewal, and its failure is raised. Each
    window is also at most a fifth (advisory) or a tenth (mandatory) of the value's lifetime,
    so short-lived values are not renewed constantly. A value without an expiry is renewed
    only when rejected (:meth:`renew`). Only one renewal runs at a time; callers that arrive
    meanwhile share its result.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Lease[T]]],
        *,
        advisory: float = 300.0,
        mandatory: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._advisory = advisory
        self._mandatory = mandatory
        self._clock = clock
        self._lease: Lease[T] | None = None
        self._advisory_at = 0.0
        self._mandatory_at = 0.0
        self._lock = anyio.Lock()
        #: How many times a value was fetched.
        self.renewals = 0

    @property
    def current(self) -> T | None:
        """The value held now, without renewing it."""
        return self._lease.value if self._lease is not None else None

    async def get(self) -> T:
        """The value to use now, renewed first where its expiry is near."""
        lease = self._lease
        now = self._clock()
        if lease is not None and now < self._advisory_at:
            return lease.value
        if lease is not None and now < self._mandatory_at:
            if self._lock.locked():
                return lease.value
            async with self._lock:
                if self._lease is lease:
                    try:
                        await self._renew()
                    except HoverBentleyError as exc:
                        logger.info(
                            "early renewal failed, the current value is still valid: %s", exc
                        )
            return self._current()
        async with self._lock:
            if self._lease is lease or self._clock() >= self._mandatory_at:
                await self._renew()
            return self._current()

    async def renew(self, rejected: T | None) -> T:
        """Fetch a new value after ``rejected`` was refused, unless another caller already did."""
        async with self._lock:
            if self._lease is None or self._lease.value == rejected:
                await self._renew()
            return self._current()

    def _current(self) -> T:
        assert self._lease is not None
        return self._lease.value

    async def _renew(self) -> None:
        lease = await self._fetch()
        now = self._clock()
        self.renewals += 1
        self._lease = lease
        if lease.expires_at is None:
            self._advisory_at = self._mandatory_at = float("inf")
            return
        lifetime = max(0.0, lease.expires_at - now)
        self._advisory_at = lease.expires_at - min(self._advisory, lifetime / 5)
        self._mandatory_at = lease.expires_at - min(self._mandatory, lifetime / 10)
