"""``--since last`` on the command line: resolve ``last`` and move the mark after a run.

The marks are the archive's (:mod:`hoverbentley.archive.marks`, in OUT, a directory or any
store): one entry per selection (the provider, its base URL and every flag that narrows what
is archived), so a run of one filter never moves the mark of another. Only runs with
``--since last`` read or write it (the first one archives everything); it moves only after
such a run finished with nothing failed and was not a dry run, and it is replaced whole: a
crash leaves the old mark or the new one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from .._core.times import parse_iso
from ..archive.marks import RunMarks
from ..errors import ConfigurationError
from ..redact import redact_url
from ..stores import open_store
from .common import SINCE_FORMATS, parse_since, print_err

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
        self,
        out: str,
        since: datetime | str | None,
        selection: Mapping[str, object],
        *,
        whole: bool = True,
        quiet: bool = False,
        dry_run: bool = False,
    ) -> None:
        """``since`` is ``--since`` (a date, :data:`LAST` or none) of a run into OUT ``out``;
        ``quiet`` (``-q``) leaves out the note when there is no mark yet."""
        #: Whether the run covers the whole selection (not ``--job``), so it may move the mark.
        self.whole = whole
        self.out_text = out
        # The mark is written into OUT: a password in the base URL is not (nor in its key).
        self.selection = dict(selection)
        if isinstance(base_url := self.selection.get("base_url"), str):
            self.selection["base_url"] = redact_url(base_url)
        self.key = selection_key(self.selection)
        self.started = datetime.now(timezone.utc)
        self.given = since
        self.quiet = quiet
        self.dry_run = dry_run
        self.marks = RunMarks(open_store(self.out_text)) if self.given == LAST else None

    async def since(self) -> datetime | None:
        """The time to select from: the date given, the mark less :data:`OVERLAP`, or ``None``
        (everything: no date given, or no complete run of this selection yet)."""
        if self.marks is None:
            return self.given if isinstance(self.given, datetime) else None
        mark = (await self.marks.read()).get(self.key)
        if mark is None:
            if not self.quiet:
                print_err(
                    f"hoverbentley: --since last: no complete run of this selection in"
                    f" {self.out_text} yet; archiving everything"
                )
            return None
        try:
            started = parse_iso(str(mark.get("since", mark.get("started"))))
        except ValueError:
            started = None
        if started is None:
            raise ConfigurationError(f"{self.marks.where}: entry without a valid 'started' time")
        return started - OVERLAP

    async def finished(self, ok: bool, unfinished: datetime | None = None) -> None:
        """Move the mark after a complete run of ``--since last``; not past ``unfinished``, the
        creation of the oldest job the run saw still running. Runs without ``--since last``
        leave OUT as they always have."""
        if not ok or not self.whole or self.dry_run or self.marks is None:
            return
        mark: dict[str, object] = {
            "started": _iso(self.started),
            "finished": _iso(datetime.now(timezone.utc)),
            "selection": self.selection,
        }
        if unfinished is not None and unfinished < self.started:
            mark["since"] = _iso(unfinished)
        await self.marks.write(self.key, mark)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
