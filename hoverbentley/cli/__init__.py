"""The ``hoverbentley`` command."""

from __future__ import annotations

import argparse
import difflib
import gc
import importlib.util
import inspect
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, cast

import anyio

from .._core.urls import origin_key
from .._version import __version__
from ..errors import (
    BadRequestError,
    ConfigurationError,
    HoverBentleyError,
    UnprocessableEntityError,
    UnreachableHostError,
)
from . import bentley, completion, config_cmd, demo, hover, manifest_cmd, serve, verify
from .common import print_err
from .exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE
from .logs import configure_logging
from .options import add_verbosity
from .precedence import apply_profile
from .profiles import add_profile_option
from .progress import summary_text
from .report import stopped_run
from .settings import Command, build, output_of
from .signals import Terminated, run_until_terminated

PROG = "hoverbentley"
logger = logging.getLogger("hoverbentley.cli")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit 2), not the usage block,
    with a "did you mean" for a misspelled flag or command. Flags are never abbreviated
    (``--al`` is not ``--all``): a script that works today keeps working when flags are added.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        hint = _did_you_mean(self, message)
        self.exit(2, f"{self.prog}: error: {message}{hint} (see {self.prog} --help)\n")


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every flag of ``parser`` and of its commands, at any depth."""
    found = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _flags(sub)
    return found


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    """``; did you mean X?`` for the misspelled word of ``message``, if one is close."""
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        options = re.findall(r"'([^']*)'", choice.group(2)) or choice.group(2).split(", ")
        close = difflib.get_close_matches(choice.group(1), options, n=1)
        return f"; did you mean {close[0]!r}?" if close else ""
    unknown = re.match(r"unrecognized arguments: (.*)", message)
    if unknown:
        flags = sorted(_flags(parser))
        for word in unknown.group(1).split():
            if word.startswith("-"):
                close = difflib.get_close_matches(word.split("=", 1)[0], flags, n=1)
                if close:
                    return f"; did you mean {close[0]}?"
    return ""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = _Parser(
        prog=PROG,
        description="Get data out of Hover and Bentley iTwin Reality Modeling: list jobs,"
        " fetch them, and archive every file, fast, verified and resumable.",
    )
    add_verbosity(parser, after_command=False)
    add_profile_option(parser, after_command=False)
    parser.add_argument("--version", action="version", version=f"hoverbentley {__version__}")
    after = _Parser(add_help=False)
    add_verbosity(after, after_command=True)
    add_profile_option(after, after_command=True)
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND", required=True),
    )
    demo.add_commands(commands, after)
    hover.add_commands(commands, after)
    bentley.add_commands(commands, after)
    verify.add_commands(commands, after)
    manifest_cmd.add_commands(commands, after)
    serve.add_commands(commands, after)
    config_cmd.add_commands(commands, after)
    completion.add_commands(commands, after)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Let every command know its own parser, so errors found late point to its --help."""
    parser.set_defaults(command_parser=parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _remember_parsers(sub)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    args, extra = build_parser().parse_known_args(argv)
    if extra:
        parser: argparse.ArgumentParser = args.command_parser
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parse(argv)
    to_file = False  # also log the final error, once the log file is open
    base_url: str | None = None  # the API's, once known: a host that cannot be reached is named
    try:
        output = output_of(args)
        configure_logging(
            output.verbose, output.quiet, log_file=output.log_file, log_format=output.log_format
        )
        to_file = output.log_file is not None
        urls = apply_profile(args, sys.argv[1:] if argv is None else argv, build_parser)
        command = build(args, output, urls)
        base_url = command.base_url
        status = _run(command)
    except KeyboardInterrupt:
        status, message = EXIT_INTERRUPTED, _stopped("interrupted (Ctrl-C)")
    except Exception as exc:  # each known kind becomes a message; the rest is raised
        status, message = _failure(_single(exc), base_url)
    else:
        return status
    if message:
        print_err(message)
        if to_file:
            logger.error(message)
    return status


def _run(command: Command[Any]) -> int:
    """Run the command's handler with its settings: a coroutine under the event loop (stopped
    by SIGTERM as by Ctrl-C), anything else as it is."""
    run = command.handler.run
    if inspect.iscoroutinefunction(run):
        _settle_garbage_collector()
        status: int = anyio.run(
            run_until_terminated, lambda: run(command.settings), backend_options=_loop_options()
        )
        return status
    return cast("int", run(command.settings))


def _settle_garbage_collector() -> None:
    """Keep the cyclic collector off what start-up built (modules, classes, the parser).

    A long run allocates several objects per request; each full collection would walk every
    object imported at start-up again, which was 7% of an archive's CPU. No collection first:
    start-up leaves a handful of unreachable objects, and collecting them cost 20 ms.
    """
    gc.freeze()


def _loop_options() -> dict[str, object]:
    """uvloop when it is installed (the ``fast`` extra): its event loop is written in C."""
    return {"use_uvloop": True} if importlib.util.find_spec("uvloop") is not None else {}


def _single(exc: BaseException) -> BaseException:
    """The one exception inside (nested) groups of one, as task groups wrap them."""
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, tuple) and len(inner) == 1 and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def _stopped(how: str) -> str:
    """The one message of a command a signal stopped: for an archive, how far it got and that
    running it again resumes; for any other command, only that it stopped."""
    run = stopped_run()
    if run is None:
        return f"{PROG}: {how}"
    done = summary_text(run).splitlines()[0]
    return f"{PROG}: {how} after {done}; run the same command again to resume"


def _failure(exc: BaseException, base_url: str | None = None) -> tuple[int, str]:
    """The exit status and one-line message of a failed run."""
    if (
        isinstance(exc, UnreachableHostError)
        and not exc.tls  # a certificate to trust, not an address to correct
        and base_url
        and exc.host == origin_key(base_url)
    ):
        return EXIT_USAGE, f"{PROG}: error: {exc}; check --base-url {base_url}"
    if isinstance(exc, Terminated):
        return EXIT_TERMINATED, _stopped("terminated (SIGTERM)")
    if isinstance(exc, BrokenPipeError):
        return 141, ""
    if isinstance(exc, ConfigurationError) or _refused_query(exc):
        return EXIT_USAGE, f"{PROG}: error: {exc}"
    if isinstance(exc, HoverBentleyError):
        return EXIT_FAILED, f"{PROG}: error: {exc}"
    if isinstance(exc, OSError):
        return EXIT_FAILED, f"{PROG}: error: {_os_error(exc)}"
    raise exc


def _refused_query(exc: BaseException) -> bool:
    # A GET the service calls malformed (a --filter it cannot parse, a $top out of range, a
    # missing current user) is mended only by changing the command; a refused POST or DELETE
    # (a cancel too late) depends on the job's state instead.
    return isinstance(exc, (BadRequestError, UnprocessableEntityError)) and exc.method == "GET"


def _os_error(exc: OSError) -> str:
    cause = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"cannot use {exc.filename}: {cause}"
    return cause
