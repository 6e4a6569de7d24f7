"""The takeoff table of an archive: one row of figures per Hover model, from the measurement
documents the archive holds.

For each model of each archived Hover job (its ``job.json``), the document is the first the
manifest records as complete of ``summarized_json``, ``json`` and ``full_json``; its figures
come from :func:`hoverbentley.hover.takeoff.takeoff`. A model without one is skipped with the
reason; a document that does not parse is reported with its path and first problem, and the
other rows are still made. The archive may be a directory or an object store; the manifest
parts of sharded runs are read too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import msgspec

from ..errors import ConfigurationError, DecodeError
from ..hover.measurements import decode_measurements
from ..hover.models import Job, Model
from ..hover.takeoff import Takeoff, WasteRow, takeoff
from ..stores import Store, StoreError, open_store
from .index import INDEX_NAME, TAKEOFF_NAME, spreadsheet_cell
from .manifest import ManifestEntry
from .merge import INDEX_PARTS, index_rows, merge_indexes
from .store_manifest import StoreManifest

__all__ = [
    "PREFERENCE",
    "TAKEOFF_NAME",
    "BrokenDocument",
    "SkippedTakeoff",
    "TakeoffRow",
    "TakeoffTable",
    "read_takeoff",
    "replace_job_rows",
    "takeoff_csv",
    "takeoff_jsonl",
    "write_takeoff",
]

#: The measurement documents a row is made from, the first archived one winning.
PREFERENCE = ("summarized_json", "json", "full_json")
_JOB = msgspec.json.Decoder(Job)
#: The waste percentages given a column each (the summarized document's table).
WASTE_COLUMNS = (0, 5, 10, 15, 20)
FIGURES = (
    "roof_area_sqft",
    "roof_squares",
    "roof_facets",
    "predominant_pitch",
    "pitches",
    *(f"roof_waste_{p}_sqft" for p in WASTE_COLUMNS),
    "ridges_hips_ft",
    "valleys_ft",
    "rakes_ft",
    "eaves_ft",
    "drip_edge_ft",
    "flashing_ft",
    "step_flashing_ft",
    "siding_facades_sqft",
    "siding_total_sqft",
    "other_total_sqft",
    "siding_waste",
    "openings_count",
    "openings_area_sqft",
    "openings_perimeter_ft",
    "windows",
)
COLUMNS = ("job_id", "model_id", "address", "deliverable", "document", *FIGURES)


@dataclass(frozen=True)
class TakeoffRow:
    """The figures of one model, and where they came from (``document``: the artifact key,
    ``path``: the file in the archive)."""

    job_id: str
    model_id: str
    address: str
    deliverable: str
    document: str
    path: str
    takeoff: Takeoff


@dataclass(frozen=True)
class SkippedTakeoff:
    """A model without a measurement document in the archive, and why."""

    job_id: str
    model_id: str
    reason: str


@dataclass(frozen=True)
class BrokenDocument:
    """A measurement document that does not parse: its path and the first problem."""

    job_id: str
    path: str
    problem: str


@dataclass
class TakeoffTable:
    """What :func:`read_takeoff` found: rows, skipped models, documents that do not parse."""

    rows: list[TakeoffRow] = field(default_factory=list)
    skipped: list[SkippedTakeoff] = field(default_factory=list)
    broken: list[BrokenDocument] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every archived document parsed."""
        return not self.broken


async def _addresses(store: Store) -> dict[str, str]:
    """Hover job id to address, from ``index.csv`` and the shards' index parts."""
    sources = [(INDEX_NAME, await store.read(INDEX_NAME))]
    async for info in store.list(INDEX_PARTS):
        sources.append((info.key, await store.read(info.key)))
    merged = merge_indexes(sources)
    rows = index_rows(merged) if merged is not None else []
    return {r["job_id"]: r.get("address", "") for r in rows if r.get("provider") == "hover"}


async def _job_rows(
    store: Store,
    record: ManifestEntry,
    documents: dict[tuple[str, str], dict[str, ManifestEntry]],
    addresses: dict[str, str],
    table: TakeoffTable,
) -> None:
    body = await _document(store, record.path)
    if isinstance(body, str):
        table.broken.append(BrokenDocument(record.job_id, record.path, body))
        return
    try:
        job = _JOB.decode(body)
    except msgspec.MsgspecError as exc:
        table.broken.append(BrokenDocument(record.job_id, record.path, str(exc)))
        return
    for model in job.models:
        job_id, model_id = str(job.id), str(model.id)
        archived = documents.get((job_id, model_id), {})
        kind = next((k for k in PREFERENCE if k in archived), None)
        if kind is None:
            table.skipped.append(SkippedTakeoff(job_id, model_id, _why(model, archived)))
            continue
        entry = archived[kind]
        data = await _document(store, entry.path)
        if isinstance(data, str):
            table.broken.append(BrokenDocument(job_id, entry.path, data))
            continue
        try:
            document = decode_measurements(kind, data, entry.path)
        except DecodeError as exc:
            table.broken.append(BrokenDocument(job_id, entry.path, exc.message))
            continue
        table.rows.append(
            TakeoffRow(
                job_id=job_id,
                model_id=model_id,
                address=addresses.get(job_id, ""),
                deliverable=model.deliverable or "",
                document=kind,
                path=entry.path,
                takeoff=takeoff(document),
            )
        )


async def _document(store: Store, path: str) -> bytes | str:
    """The bytes at ``path``, or why there are none (one unreadable document costs its row,
    not the table)."""
    try:
        data = await store.read(path)
    except StoreError as exc:
        return str(exc)
    return "missing from the archive" if data is None else data


def _why(model: Model, archived: dict[str, ManifestEntry]) -> str:
    if not model.is_complete:
        return f"the model is {model.state or 'not complete'}"
    offered = model.artifacts.measurements if model.artifacts else None
    links = offered.links() if offered else {}
    documents = [k for k in PREFERENCE if k in links]
    if not documents:
        return "the model offers no measurement document"
    return f"no measurement document archived (the model offers {', '.join(documents)})"


async def read_takeoff(out: str, *, job_ids: Iterable[str] | None = None) -> TakeoffTable:
    """The takeoff table of the archive at ``out`` (a directory, ``s3://…``, ``az://…``),
    of every Hover job or of ``job_ids``. Raises :class:`ConfigurationError` when ``out`` is
    not an archive. Nothing is written."""
    store = open_store(out)
    manifest = StoreManifest(store)
    await manifest.open()
    entries = [e for p in manifest.entries() if (e := manifest.entry(p)) is not None]
    if not entries:
        raise ConfigurationError(f"no manifest in {store.location}: not an archive")
    wanted = None if job_ids is None else set(job_ids)
    records: list[ManifestEntry] = []
    documents: dict[tuple[str, str], dict[str, ManifestEntry]] = {}
    for entry in entries:
        if entry.status != "ok" or not entry.path.startswith("hover/"):
            continue
        if wanted is not None and entry.job_id not in wanted:
            continue
        if entry.kind == "job":
            records.append(entry)
        elif entry.key and entry.key.startswith("measurements.") and entry.part_id:
            kind = entry.key.removeprefix("measurements.")
            documents.setdefault((entry.job_id, entry.part_id), {})[kind] = entry
    addresses = await _addresses(store)
    table = TakeoffTable()
    for record in sorted(records, key=lambda r: _numeric(r.job_id)):
        await _job_rows(store, record, documents, addresses, table)
    return table


def _numeric(job_id: str) -> tuple[int, str]:
    return (int(job_id), "") if job_id.isdigit() else (0, job_id)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    value = round(value, 6)
    return str(int(value)) if value == int(value) else repr(value)


def _waste(rows: tuple[WasteRow, ...]) -> str:
    return "; ".join(f"+{_number(r.percent)}%={_number(r.area_sqft)}" for r in rows)


def _cells(row: TakeoffRow) -> dict[str, str]:
    t = row.takeoff
    waste = {r.percent: r.area_sqft for r in t.roof_waste}
    cells = {
        "job_id": row.job_id,
        "model_id": row.model_id,
        "address": spreadsheet_cell(row.address),
        "deliverable": spreadsheet_cell(row.deliverable),
        "document": row.document,
        "predominant_pitch": spreadsheet_cell(t.predominant_pitch or ""),
        "pitches": spreadsheet_cell(
            "; ".join(
                f"{p.pitch}={_number(p.area_sqft)} ({_number(p.percentage)}%)" for p in t.pitches
            )
        ),
        "siding_waste": _waste(t.siding_waste),
        "windows": _number(t.windows),
    }
    for percent in WASTE_COLUMNS:
        cells[f"roof_waste_{percent}_sqft"] = _number(waste.get(percent))
    for name in FIGURES:
        if name not in cells:
            cells[name] = _number(getattr(t, name))
    return cells


def takeoff_csv(rows: Iterable[TakeoffRow]) -> bytes:
    """The CSV text of ``rows`` (a header, then one line per model)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(_cells(row))
    return buffer.getvalue().encode("utf-8")


def takeoff_jsonl(rows: Iterable[TakeoffRow]) -> bytes:
    """One JSON object per model: the identifying fields and the whole takeoff."""
    return b"".join(
        msgspec.json.encode(
            {
                "job_id": r.job_id,
                "model_id": r.model_id,
                "address": r.address,
                "deliverable": r.deliverable,
                "document": r.document,
                "path": r.path,
                "takeoff": r.takeoff,
            }
        )
        + b"\n"
        for r in rows
    )


def replace_job_rows(
    existing: bytes | None, job_ids: Collection[str], rows: Iterable[TakeoffRow]
) -> bytes:
    """A takeoff CSV holding ``existing``'s rows of every other job, and ``rows`` for
    ``job_ids`` in place of their old ones (jobs in id order)."""
    kept: list[dict[str, str]] = []
    if existing is not None:
        reader = csv.DictReader(io.StringIO(existing.decode("utf-8"), newline=""))
        kept = [r for r in reader if r.get("job_id") not in job_ids]
    new = [_cells(r) for r in rows]
    merged = sorted([*kept, *new], key=lambda r: _numeric(r.get("job_id", "")))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", restval="")
    writer.writeheader()
    writer.writerows(merged)
    return buffer.getvalue().encode("utf-8")


async def write_takeoff(out: str, *, job_ids: Collection[str] | None = None) -> TakeoffTable:
    """Write ``OUT/takeoff.csv`` from the archive at ``out``: the whole table, or only the
    rows of ``job_ids`` replaced (for a service that keeps it current job by job). The file
    or object is written whole and then replaces the old one. Returns what was read."""
    store = open_store(out)
    if job_ids is None:
        table = await read_takeoff(out)
        body = takeoff_csv(table.rows)
    else:
        wanted = set(job_ids)
        table = await read_takeoff(out, job_ids=wanted)
        body = replace_job_rows(await store.read(TAKEOFF_NAME), wanted, table.rows)
    await store.put(TAKEOFF_NAME, body)
    return table
