"""Batch writes of print jobs and their details.

A query and a commit per job would make an import of 10,000 jobs cost 20,000 round
trips. Here a batch costs a constant number of statements: one
SELECT of the rows already held, one dialect-native upsert of what is new or changed,
one SELECT of the ids of the new rows, and the rollups' delta (services/rollups).
"""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gql_server.db.folding import fold
from gql_server.db.models import (
    FOLDED_WIDTHS,
    JobDetails,
    PrintJob,
    column_names,
    value_attributes,
)
from gql_server.db.types import as_utc, utcnow
from gql_server.db.upsert import upsert_statement
from gql_server.services.rollups import maintain as rollups

# Rows per INSERT statement: 500 jobs stay far below MariaDB's 16 MiB packet even with
# 10 KiB of metadata per job.
ROWS_PER_STATEMENT = 500

KEY_COLUMNS = ("printer_id", "job_id", "start_time")
# What an import writes and compares, from the model. The digest hashes these values in
# this order: a column added to the model changes every digest, so the next import
# rewrites each job once, with its new value.
JOB_COLUMNS = value_attributes(PrintJob, besides=KEY_COLUMNS)
# Derived from the columns above (db/folding.py): written with them, never compared.
FOLDED_JOB_COLUMNS = ("user_folded", "filename_folded", "slicer_folded")
DETAIL_COLUMNS = value_attributes(JobDetails, besides=("print_job_id",))

JobKey = tuple[str, datetime]


@dataclass(slots=True)
class UpsertResult:
    """What a batch did; ``ids`` maps every job of the batch to its row id."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: dict[JobKey, int] = field(default_factory=dict)
    created_keys: list[JobKey] = field(default_factory=list)
    updated_keys: list[JobKey] = field(default_factory=list)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def job_key(row: Mapping[str, Any]) -> JobKey:
    start = _aware(row["start_time"])
    assert start is not None
    return (str(row["job_id"]), start)


# The JSON columns are serialized once per job, here, and the text is what the INSERT
# binds and what the digest hashes; the details reuse the metadata's text for their
# raw_metadata. Letting SQLAlchemy serialize each dict again cost three json.dumps of
# every job's ~2 KiB metadata per import (bench/import_history.py).
JSON_COLUMNS = ("job_metadata", "auxiliary_data")


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # NaN or ±Infinity: Python reads them in Moonraker's answers, but they are not
        # JSON, and MariaDB's JSON check refuses the row where SQLite would keep it.
        # Stored as null instead; the round trip costs only such rare documents.
        finite = json.loads(json.dumps(value), parse_constant=lambda _: None)
        return json.dumps(finite, separators=(",", ":"))


def _normalised(row: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: row.get(name) for name in JOB_COLUMNS}
    values["end_time"] = _aware(values["end_time"])
    slicer = metadata_slicer(values["job_metadata"])
    for name in JSON_COLUMNS:
        values[name] = to_json(values[name])
    values["content_hash"] = fingerprint(values)
    values["user_folded"] = fold(values["user"], FOLDED_WIDTHS["user_folded"])
    values["filename_folded"] = fold(values["filename"], FOLDED_WIDTHS["filename_folded"])
    values["slicer_folded"] = fold(slicer, FOLDED_WIDTHS["slicer_folded"])
    return values


def metadata_slicer(metadata: Any) -> str | None:
    """The ``slicer`` key of a job's metadata when it is text: what the slicer filter
    matches."""
    slicer = metadata.get("slicer") if isinstance(metadata, dict) else None
    return slicer if isinstance(slicer, str) else None


def fingerprint(values: Mapping[str, Any]) -> str:
    """SHA-256 of a job's stored values (JSON columns as their text): "unchanged?"
    becomes one short column to read instead of every column decoded back."""
    # Key order is Moonraker's own and stable, so the texts are too.
    payload = json.dumps(
        [values[name] for name in JOB_COLUMNS], separators=(",", ":"), default=_json_default
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def metadata_json(batch: "JobBatch", key: JobKey) -> str | None:
    """The serialized metadata of a planned job, for its details' raw_metadata."""
    metadata: str | None = batch.incoming[key]["job_metadata"]
    return metadata


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def _existing(session: Session, printer_id: int, keys: Iterable[JobKey]) -> dict[JobKey, Any]:
    job_ids = sorted({job_id for job_id, _ in keys})
    if not job_ids:
        return {}
    query = select(PrintJob.id, PrintJob.job_id, PrintJob.start_time, PrintJob.content_hash).where(
        PrintJob.printer_id == printer_id, PrintJob.job_id.in_(job_ids)
    )
    return {(row.job_id, row.start_time): row for row in session.execute(query)}


def _differs(stored: Any, incoming: Mapping[str, Any]) -> bool:
    differs: bool = stored.content_hash != incoming["content_hash"]
    return differs


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


def unfinished_jobs(session: Session, printer_id: int) -> list[JobKey]:
    """Jobs we last saw in progress: Moonraker rewrites them when they end."""
    query = select(PrintJob.job_id, PrintJob.start_time).where(
        PrintJob.printer_id == printer_id, PrintJob.status == "in_progress"
    )
    return [(row.job_id, row.start_time) for row in session.execute(query)]


@dataclass(slots=True)
class JobBatch:
    """Jobs to import and what we hold of them: planned in one SELECT, written later.

    The importer plans first, fetches slicer settings for the new and changed jobs
    only, then writes; nothing else writes the printer's jobs meanwhile (sync lease).
    """

    printer_id: int
    incoming: dict[JobKey, dict[str, Any]]
    stored: dict[JobKey, Any]

    def is_pending(self, key: JobKey) -> bool:
        """New or changed: what the write will touch."""
        stored = self.stored.get(key)
        return stored is None or _differs(stored, self.incoming[key])


def plan_jobs(session: Session, printer_id: int, rows: Sequence[Mapping[str, Any]]) -> JobBatch:
    incoming = {job_key(row): _normalised(row) for row in rows}
    return JobBatch(printer_id, incoming, _existing(session, printer_id, incoming))


def write_jobs(session: Session, batch: JobBatch) -> UpsertResult:
    """Insert new jobs and update changed ones in place; unchanged rows are not written.

    Skipping unchanged rows keeps ``updated_at`` meaningful (it moves only when the job
    did) and makes a repeated import a no-op.
    """
    result = UpsertResult()
    to_write: list[dict[str, Any]] = []
    for key, values in batch.incoming.items():
        previous = batch.stored.get(key)
        if previous is None:
            result.created_keys.append(key)
        elif _differs(previous, values):
            result.updated_keys.append(key)
            result.ids[key] = previous.id
        else:
            result.unchanged += 1
            result.ids[key] = previous.id
            continue
        to_write.append(_insert_values(batch.printer_id, key, values))
    result.created = len(result.created_keys)
    result.updated = len(result.updated_keys)
    with rollups.tracking(session) as change:  # the rollups move with the rows
        change.existing([batch.stored[key].id for key in result.updated_keys])
        _write_jobs(session, to_write)
        if result.created_keys:
            result.ids.update(_ids_of(session, batch.printer_id, result.created_keys))
        change.created([result.ids[key] for key in result.created_keys])
    return result


def upsert_jobs(
    session: Session, printer_id: int, rows: Sequence[Mapping[str, Any]]
) -> UpsertResult:
    """Plan and write in one go: one SELECT, one upsert, one SELECT of new ids."""
    return write_jobs(session, plan_jobs(session, printer_id, rows))


def _insert_values(printer_id: int, key: JobKey, values: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    job_id, start_time = key
    return {
        "printer_id": printer_id,
        "job_id": job_id,
        "start_time": start_time,
        "created_at": now,
        "updated_at": now,
        **values,
    }


def _write_jobs(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = upsert_statement(
        session.get_bind().dialect,
        cast(Table, PrintJob.__table__),  # a mapped class's table, typed FromClause
        conflict_columns=KEY_COLUMNS,
        update_columns=[
            *(_column_name(name) for name in JOB_COLUMNS),
            *FOLDED_JOB_COLUMNS,
            "content_hash",
            "updated_at",
        ],
        text_columns=[_column_name(name) for name in JSON_COLUMNS],
    )
    for chunk in _chunks(rows):
        # Attribute names differ from column names for "metadata": map before Core.
        session.execute(statement, [_to_columns(row) for row in chunk])


_COLUMN_NAMES = column_names(PrintJob)


def _column_name(attribute: str) -> str:
    return _COLUMN_NAMES[attribute]


def _to_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    return {_column_name(name): value for name, value in row.items()}


def _ids_of(session: Session, printer_id: int, keys: Sequence[JobKey]) -> dict[JobKey, int]:
    job_ids = sorted({job_id for job_id, _ in keys})
    wanted = set(keys)
    query = select(PrintJob.id, PrintJob.job_id, PrintJob.start_time).where(
        PrintJob.printer_id == printer_id, PrintJob.job_id.in_(job_ids)
    )
    found = {(row.job_id, row.start_time): row.id for row in session.execute(query)}
    return {key: row_id for key, row_id in found.items() if key in wanted}


def upsert_details(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write the details of many jobs (each row has ``print_job_id``) in one statement.

    ``raw_metadata`` may come serialized already as ``raw_metadata_json``.
    """
    if not rows:
        return 0
    now = utcnow()
    values = [
        {
            "print_job_id": row["print_job_id"],
            **{name: row.get(name) for name in DETAIL_COLUMNS},
            "filament_type_folded": fold(
                row.get("filament_type"), FOLDED_WIDTHS["filament_type_folded"]
            ),
            "raw_metadata": row.get("raw_metadata_json") or to_json(row.get("raw_metadata")),
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]
    statement = upsert_statement(
        session.get_bind().dialect,
        cast(Table, JobDetails.__table__),
        conflict_columns=("print_job_id",),
        update_columns=[*DETAIL_COLUMNS, "filament_type_folded", "updated_at"],
        text_columns=["raw_metadata"],
    )
    with rollups.tracking(session) as change:  # a job's filament type is in its details
        change.existing([row["print_job_id"] for row in values])
        for chunk in _chunks(values):
            session.execute(statement, chunk)
    return len(values)
