"""HTTP settings shared by every client (see :class:`HttpConfig`)."""

from __future__ import annotations

from ._http.config import PROVIDER_DEFAULT, HttpConfig

__all__ = ["PROVIDER_DEFAULT", "HttpConfig"]
