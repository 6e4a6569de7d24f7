"""The ``hoverbentley`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn, cast

import anyio

from .. import __version__
from ..bentley.cli import add_commands as add_bentley
from ..errors import ConfigurationError, HoverBentleyError
from . import demo, hover
from .common import print_err


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _common_options() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log retries and progress (-vv: every request)",
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no progress display, errors only"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    common = _common_options()
    parser = _Parser(
        prog="hoverbentley",
        description="Get data out of Hover and Bentley iTwin Reality Modeling: list jobs,"
        " fetch them, and archive every file, fast, verified and resumable.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"hoverbentley {__version__}")
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND", required=True),
    )
    demo.add_commands(commands, common)
    hover.add_commands(commands, common)
    add_bentley(commands, common)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False))
    try:
        status: int = anyio.run(args.handler, args)
    except ConfigurationError as exc:
        print_err(f"hoverbentley: error: {exc}")
        return 2
    except HoverBentleyError as exc:
        print_err(f"hoverbentley: error: {exc}")
        return 1
    except KeyboardInterrupt:
        print_err("hoverbentley: interrupted; run the same command again to resume")
        return 130
    except BrokenPipeError:
        return 141
    return status
