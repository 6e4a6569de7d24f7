"""``--since last`` marks: when the last complete run of each selection started, in the store.

The marks live in ``OUT/.hoverbentley/last-run.json`` (a directory or any store), one entry per
selection key. A write reads the marks, changes one entry and puts them back only if nobody
wrote meanwhile (a conditional put on the ETag), so runs of other selections that finish at the
same moment never lose each other's marks.
"""

from __future__ import annotations

import json

from ..errors import ConfigurationError
from ..stores import PreconditionFailed, Store

#: Where the marks are kept, relative to OUT.
MARK_DIR = ".hoverbentley"
MARK_PATH = f"{MARK_DIR}/last-run.json"
#: Conditional writes tried before giving up. Each attempt that fails lost to another run's
#: write, and one writer wins every round, so this many runs finishing together all succeed.
_TRIES = 32

Marks = dict[str, dict[str, object]]


class RunMarks:
    """The marks of the archive in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def where(self) -> str:
        """The marks' location, as shown to people."""
        return f"{self.store.location}/{MARK_PATH}"

    async def read(self) -> Marks:
        """Every selection's mark (none when there is no marks file)."""
        return (await self._read())[0]

    async def _read(self) -> tuple[Marks, str | None]:
        info = await self.store.stat(MARK_PATH)
        data = await self.store.read(MARK_PATH)
        if data is None:
            return {}, None
        try:
            runs = json.loads(data)["runs"]
            if not isinstance(runs, dict) or not all(isinstance(v, dict) for v in runs.values()):
                raise TypeError("runs is not a table of runs")
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"cannot read {self.where} ({exc}); remove it to archive everything again"
            ) from None
        return runs, info.etag if info is not None else None

    async def write(self, key: str, mark: dict[str, object]) -> None:
        """Set the mark of selection ``key``, keeping every other selection's."""
        for _ in range(_TRIES):
            marks, etag = await self._read()
            marks[key] = mark
            body = json.dumps({"version": 1, "runs": marks}, indent=2, sort_keys=True)
            try:
                if etag is None:
                    await self.store.put(MARK_PATH, body.encode() + b"\n", if_absent=True)
                else:
                    await self.store.put(MARK_PATH, body.encode() + b"\n", if_match=etag)
                return
            except PreconditionFailed:
                continue  # another run wrote its mark meanwhile: read again
        raise PreconditionFailed(f"{self.where}: kept changing while this run wrote its mark")
