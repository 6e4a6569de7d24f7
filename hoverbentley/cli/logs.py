"""Where the package's log records go when it runs as a command, and in which format."""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timezone
from typing import Any

import msgspec

from .._core.times import utc_text
from ..errors import ConfigurationError

LOG_FORMATS = ("text", "json")
#: Attributes every record has; anything else was passed as ``extra`` and is kept in JSON.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC), ``level``, ``logger``, ``message``, and any
    ``extra`` fields the record carries."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc)
        event: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        return msgspec.json.encode(event, enc_hook=str).decode()


def stamp(when: float | None = None) -> str:
    """The time a line off a terminal starts with (a log record, a progress line): ISO 8601
    in UTC, to the second (``2025-03-01T12:00:00Z``); ``when`` in seconds since the epoch,
    else now."""
    return utc_text(datetime.fromtimestamp(time.time() if when is None else when, timezone.utc))


class TextFormatter(logging.Formatter):
    """``TIME LEVEL message``, the time in the one form of every line off a terminal
    (ISO 8601 in UTC, to the second: ``2025-03-01T12:00:00Z``)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return stamp(record.created)


def configure_logging(
    verbose: int, quiet: bool, *, log_file: str | None = None, log_format: str = "text"
) -> None:
    """Log warnings by default, ``-v`` info, ``-vv`` debug, ``-q`` errors only: to stderr, or
    appended to ``log_file`` instead, as text lines or JSON lines."""
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        try:
            handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write --log-file {log_file}: {exc.strerror or exc}"
            ) from None
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    logger = logging.getLogger("hoverbentley")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
