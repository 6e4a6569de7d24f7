"""Where the package's log records go when it runs as a command."""

from __future__ import annotations

import logging
import sys


def configure_logging(verbose: int, quiet: bool) -> None:
    """Log to stderr: warnings by default, ``-v`` info, ``-vv`` debug, ``-q`` errors only."""
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("hoverbentley")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
