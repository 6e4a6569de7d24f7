"""The aiohttp session a transport sends through where it does not use the lean client
(tracing, or no httptools), built from :class:`HttpConfig`."""

from __future__ import annotations

import ssl
from collections.abc import Sequence

import aiohttp

from .config import HttpConfig


def open_session(
    config: HttpConfig, trace_configs: Sequence[aiohttp.TraceConfig] = ()
) -> aiohttp.ClientSession:
    """A session with the configured connection limits, timeouts, TLS trust and tracing.

    Cookies are never kept, and redirects are followed by the transport, not by aiohttp.
    """
    ssl_context: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=config.ca_file) if config.ca_file else True
    )
    connector = aiohttp.TCPConnector(
        limit=config.max_connections,
        limit_per_host=config.max_connections_per_host,
        ssl=ssl_context,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=config.connect_timeout, sock_read=config.read_timeout
        ),
        headers={"User-Agent": config.user_agent},
        read_bufsize=config.read_bufsize,
        cookie_jar=aiohttp.DummyCookieJar(),
        trace_configs=list(trace_configs) or None,
    )
