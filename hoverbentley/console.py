"""The ``hoverbentley`` command: :func:`hoverbentley.cli.main`, with Ctrl-C during its start-up
(importing the command line takes a few tenths of a second) ending as it does later, in one
line and exit status 130, not a traceback of the import it stopped."""

from __future__ import annotations

import sys

#: ``hoverbentley.cli.exits.EXIT_INTERRUPTED``, known before the command line is imported.
_INTERRUPTED = 130


def main() -> int:
    """Run the command line; return the exit status."""
    try:
        from .cli import main as run

        return run()
    except KeyboardInterrupt:
        sys.stderr.write("hoverbentley: interrupted (Ctrl-C)\n")
        return _INTERRUPTED
