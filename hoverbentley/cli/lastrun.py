"""``--since last``: when the last complete run of a selection started, kept in OUT.

The mark lives in ``OUT/.hoverbentley/last-run.json``, one entry per selection (the provider,
its base URL and every flag that narrows what is archived), so a run of one filter never moves
the mark of another. Only runs with ``--since last`` read or write it (the first one archives
everything); it moves only after such a run finished with nothing failed and was not a dry run,
and it is written atomically: a crash leaves the old mark or the new one.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio

from .._core.times import parse_iso
from .._io.atomic import write_atomic
from ..archive.local import MARK_DIR
from ..errors import ConfigurationError
from .common import SINCE_FORMATS, parse_since, print_err
from .options import verbosity

#: Where the marks are kept, relative to OUT.
MARK_PATH = f"{MARK_DIR}/last-run.json"
LAST = "last"
#: Taken off the mark when it is used: the provider's clock may run behind ours, and files
#: already archived are skipped, so archiving a few minutes twice costs little.
OVERLAP = timedelta(minutes=10)
SINCE_HELP = (
    f"'last' (the start of the last run of the same selection into OUT that finished with"
    f" nothing failed; everything when there is none), or {SINCE_FORMATS}"
)


def since_or_last(text: str) -> datetime | str:
    """An argparse type: ``last`` or a date (see :func:`.common.parse_since`)."""
    return LAST if text.strip().lower() == LAST else parse_since(text)


def selection_key(selection: Mapping[str, object]) -> str:
    """The canonical text of a selection, the key of its mark."""
    return json.dumps(selection, sort_keys=True, separators=(",", ":"))


class Incremental:
    """The ``--since`` of one archive run: resolves ``last`` and moves the mark afterwards."""

    def __init__(
        self, args: argparse.Namespace, selection: Mapping[str, object], *, whole: bool = True
    ) -> None:
        #: Whether the run covers the whole selection (not ``--job``), so it may move the mark.
        self.whole = whole
        self.out_text: str = args.out
        self.key = selection_key(selection)
        self.selection = dict(selection)
        self.started = datetime.now(timezone.utc)
        self.given: datetime | str | None = args.since
        self.quiet = verbosity(args)[1]
        self.dry_run = bool(getattr(args, "dry_run", False))
        if self.given == LAST and "://" in self.out_text:
            raise ConfigurationError(
                f"--since last needs OUT to be a local directory for now, not {self.out_text}"
            )

    @property
    def path(self) -> Path:
        return Path(self.out_text) / MARK_PATH

    def since(self) -> datetime | None:
        """The time to select from: the date given, the mark less :data:`OVERLAP`, or ``None``
        (everything: no date given, or no complete run of this selection yet)."""
        if self.given != LAST:
            return self.given if isinstance(self.given, datetime) else None
        mark = read_marks(self.path).get(self.key)
        if mark is None:
            if not self.quiet:
                print_err(
                    f"hoverbentley: --since last: no complete run of this selection in"
                    f" {self.out_text} yet; archiving everything"
                )
            return None
        started = parse_iso(str(mark.get("since", mark.get("started"))))
        if started is None:
            raise ConfigurationError(f"{self.path}: entry without a valid 'started' time")
        return started - OVERLAP

    async def finished(self, ok: bool, unfinished: datetime | None = None) -> None:
        """Move the mark after a complete run of ``--since last``; not past ``unfinished``, the
        creation of the oldest job the run saw still running. Runs without ``--since last``
        leave OUT as they always have."""
        if not ok or not self.whole or self.dry_run or self.given != LAST:
            return
        await anyio.to_thread.run_sync(self._write, unfinished)

    def _write(self, unfinished: datetime | None) -> None:
        marks = read_marks(self.path)
        mark: dict[str, object] = {
            "started": _iso(self.started),
            "finished": _iso(datetime.now(timezone.utc)),
            "selection": self.selection,
        }
        if unfinished is not None and unfinished < self.started:
            mark["since"] = _iso(unfinished)
        marks[self.key] = mark
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"version": 1, "runs": marks}
        write_atomic(self.path, json.dumps(body, indent=2, sort_keys=True).encode() + b"\n")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def read_marks(path: Path) -> dict[str, dict[str, object]]:
    """Every selection's mark in ``path`` (none when the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        body = json.loads(text)
        runs = body["runs"]
        if not isinstance(runs, dict) or not all(isinstance(v, dict) for v in runs.values()):
            raise TypeError("runs is not a table of runs")
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot read {path} ({exc}); remove it to archive everything again"
        ) from None
    return runs
