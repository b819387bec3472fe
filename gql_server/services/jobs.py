"""Batch writes of print jobs and their details.

A query and a commit per job would make an import of 10,000 jobs cost 20,000 round
trips. Here a batch costs a constant number of statements: one SELECT of the rows
already held; for what is new or changed, one SELECT of the ids of their file names
and metadata documents (services/text_rows: two more statements when some are new),
one dialect-native upsert of the jobs, one SELECT of the ids of
the new rows, one upsert of their auxiliary data (job_documents), and the rollups'
delta (services/rollups).
"""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gql_server.db.folding import fold
from gql_server.db.models import (
    FOLDED_WIDTHS,
    JobDetails,
    PrintJob,
    column_names,
    value_attributes,
)
from gql_server.db.tables import JOB_DETAILS, JOB_DOCUMENTS, PRINT_JOBS
from gql_server.db.types import as_utc, utcnow
from gql_server.db.upsert import upsert_statement
from gql_server.services import text_rows
from gql_server.services.rollups import maintain as rollups
from gql_server.services.text_rows import DOCUMENTS, FILES

# Rows per INSERT statement: 500 jobs stay far below MariaDB's 16 MiB packet even with
# 10 KiB of metadata per job.
ROWS_PER_STATEMENT = 500

KEY_COLUMNS = ("printer_id", "job_id", "start_time")
# What an upsert of jobs returns of each row, where the database can: its id and key.
RETURNED_KEY = ("id", "job_id", "start_time")
# What an import writes and compares: print_jobs' own columns from the model, then the
# job's JSON documents, stored apart (metadata_documents, job_documents). The digest
# hashes these values in this order: a column added to the model changes every digest,
# so the next import rewrites each job once, with its new value.
PRINT_JOB_COLUMNS = value_attributes(PrintJob, besides=(*KEY_COLUMNS, "file_id", "metadata_id"))
JSON_COLUMNS = ("job_metadata", "auxiliary_data")
JOB_COLUMNS = (*PRINT_JOB_COLUMNS, *JSON_COLUMNS)
# Derived from the columns above (db/folding.py): written with them, never compared.
FOLDED_JOB_COLUMNS = ("user_folded", "slicer_folded")
# What a details row carries: job_details' columns, and the document the details were
# read from, stored in metadata_documents (upsert_details).
DETAIL_TABLE_COLUMNS = value_attributes(JobDetails, besides=("print_job_id", "raw_metadata_id"))
DETAIL_COLUMNS = (*DETAIL_TABLE_COLUMNS, "raw_metadata")

JobKey = tuple[str, datetime]


@dataclass(slots=True)
class UpsertResult:
    """What a batch did; ``ids`` maps every job of the batch to its row id."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: dict[JobKey, int] = field(default_factory=dict)
    # The metadata document of each job written (None: no metadata): what the details
    # read from the metadata refer to as their rawMetadata.
    metadata_ids: dict[JobKey, int | None] = field(default_factory=dict)
    created_keys: list[JobKey] = field(default_factory=list)
    updated_keys: list[JobKey] = field(default_factory=list)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def job_key(row: Mapping[str, Any]) -> JobKey:
    start = _aware(row["start_time"])
    assert start is not None
    return (str(row["job_id"]), start)


# The JSON columns are serialized once per job, here, and the text is what the INSERT
# binds (compressed, db/types.py CompressedJSON), what the digest hashes and what
# identifies a metadata document. Letting SQLAlchemy serialize each dict again cost three
# json.dumps of every job's ~2 KiB metadata per import (bench/import_history.py).


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


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


# The SELECTs a batch runs, built once with an expanding IN: building them anew for every
# batch cost more than running them for a live event's one job.
EXISTING = select(
    PrintJob.id, PrintJob.job_id, PrintJob.start_time, PrintJob.content_hash, PrintJob.status
).where(
    PrintJob.printer_id == bindparam("printer_id"),
    PrintJob.job_id.in_(bindparam("job_ids", expanding=True)),
)
IDS_OF = select(PrintJob.id, PrintJob.job_id, PrintJob.start_time).where(
    PrintJob.printer_id == bindparam("printer_id"),
    PrintJob.job_id.in_(bindparam("job_ids", expanding=True)),
)


def _existing(session: Session, printer_id: int, keys: Iterable[JobKey]) -> dict[JobKey, Any]:
    job_ids = sorted({job_id for job_id, _ in keys})
    if not job_ids:
        return {}
    rows = session.execute(EXISTING, {"printer_id": printer_id, "job_ids": job_ids})
    return {(row.job_id, row.start_time): row for row in rows}


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


def normalised_jobs(rows: Sequence[Mapping[str, Any]]) -> list[tuple[JobKey, dict[str, Any]]]:
    """Each parsed job's key and the values it is stored as (JSON serialized, folded,
    fingerprinted): work without the database, which an import does for its next page
    while the current one is being written."""
    return [(job_key(row), _normalised(row)) for row in rows]


def plan_jobs(session: Session, printer_id: int, rows: Sequence[Mapping[str, Any]]) -> JobBatch:
    return plan_normalised(session, printer_id, normalised_jobs(rows))


def plan_normalised(
    session: Session, printer_id: int, normalised: Sequence[tuple[JobKey, dict[str, Any]]]
) -> JobBatch:
    """``plan_jobs`` for jobs already normalised (a later job of the same key wins)."""
    incoming = dict(normalised)
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
    if not to_write:
        return result
    texts = {
        FILES: text_rows.file_rows(row["filename"] for row in to_write),
        DOCUMENTS: text_rows.document_rows(row["job_metadata"] for row in to_write),
    }
    ids = text_rows.write_texts(session, texts)  # one SELECT when all are held
    file_ids, document_ids = ids[FILES], ids[DOCUMENTS]
    with rollups.tracking(session) as change:  # the rollups move with the rows
        change.existing([batch.stored[key].id for key in result.updated_keys])
        job_rows = [_job_row(row, file_ids, document_ids) for row in to_write]
        written = _write_jobs(session, job_rows)
        if written is not None:
            result.ids.update(written)
        elif result.created_keys:
            result.ids.update(_ids_of(session, batch.printer_id, result.created_keys))
        change.created([result.ids[key] for key in result.created_keys])
        change.wrote_jobs({result.ids[_key(row)]: row for row in job_rows})
    for row in to_write:
        metadata = row["job_metadata"]
        result.metadata_ids[_key(row)] = None if metadata is None else document_ids[metadata]
    _write_job_documents(session, [_document_row(row, result.ids) for row in to_write])
    return result


def upsert_jobs(
    session: Session, printer_id: int, rows: Sequence[Mapping[str, Any]]
) -> UpsertResult:
    """Plan and write in one go (module docstring: the statements of a batch)."""
    return write_jobs(session, plan_jobs(session, printer_id, rows))


def _key(row: Mapping[str, Any]) -> JobKey:
    return (row["job_id"], row["start_time"])


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


def write_file_names(session: Session, filenames: Iterable[str]) -> dict[str, int]:
    """Add the names print_files lacks; every name's row id."""
    return text_rows.write_texts(session, {FILES: text_rows.file_rows(filenames)})[FILES]


def write_metadata_documents(session: Session, texts: Iterable[str | None]) -> dict[str, int]:
    """Add the metadata documents (JSON texts) that metadata_documents lacks; every
    text's row id. Nothing for None."""
    wanted = {DOCUMENTS: text_rows.document_rows(texts)}
    return text_rows.write_texts(session, wanted)[DOCUMENTS]


def _job_row(
    row: Mapping[str, Any], file_ids: Mapping[str, int], document_ids: Mapping[str, int]
) -> dict[str, Any]:
    """print_jobs' columns of a written job (its documents are stored apart)."""
    values = {_column_name(name): value for name, value in row.items() if name not in JSON_COLUMNS}
    values["file_id"] = file_ids[row["filename"]]
    metadata = row["job_metadata"]
    values["metadata_id"] = None if metadata is None else document_ids[metadata]
    return values


def _document_row(row: Mapping[str, Any], ids: Mapping[JobKey, int]) -> dict[str, Any]:
    return {"print_job_id": ids[_key(row)], "auxiliary_data": row["auxiliary_data"]}


def _write_jobs(session: Session, rows: Sequence[dict[str, Any]]) -> dict[JobKey, int] | None:
    """Upsert the jobs; the row id of each where the database returns what it wrote
    (RETURNING), else None and the caller reads the new ids (MySQL 8, SQLite < 3.35)."""
    dialect = session.get_bind().dialect
    returning = RETURNED_KEY if dialect.insert_executemany_returning else ()
    statement = upsert_statement(
        dialect,
        PRINT_JOBS,
        conflict_columns=KEY_COLUMNS,
        update_columns=[
            *(_column_name(name) for name in PRINT_JOB_COLUMNS),
            "file_id",
            "metadata_id",
            *FOLDED_JOB_COLUMNS,
            "content_hash",
            "updated_at",
        ],
        returning=returning,
    )
    ids: dict[JobKey, int] = {}
    for chunk in _chunks(rows):
        written = session.execute(statement, chunk)
        if returning:
            ids.update(((job_id, start_time), row_id) for row_id, job_id, start_time in written)
    return ids if returning else None


def _write_job_documents(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    statement = upsert_statement(
        session.get_bind().dialect,
        JOB_DOCUMENTS,
        conflict_columns=("print_job_id",),
        update_columns=("auxiliary_data",),
    )
    for chunk in _chunks(rows):
        session.execute(statement, chunk)


_COLUMN_NAMES = column_names(PrintJob)


def _column_name(attribute: str) -> str:
    return _COLUMN_NAMES[attribute]


def _ids_of(session: Session, printer_id: int, keys: Sequence[JobKey]) -> dict[JobKey, int]:
    job_ids = sorted({job_id for job_id, _ in keys})
    wanted = set(keys)
    rows = session.execute(IDS_OF, {"printer_id": printer_id, "job_ids": job_ids})
    found = {(row.job_id, row.start_time): row.id for row in rows}
    return {key: row_id for key, row_id in found.items() if key in wanted}


def upsert_details(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write the details of many jobs (each row has ``print_job_id``) in one statement.

    Their rawMetadata: ``raw_metadata_id`` (a metadata_documents row: the importer's is
    the job's own, ``UpsertResult.metadata_ids``), else ``raw_metadata`` (or
    ``raw_metadata_json``, serialized already), stored as a document (two more
    statements), else none.
    """
    if not rows:
        return 0
    texts = [_raw_metadata_text(row) for row in rows]
    document_ids = write_metadata_documents(session, texts)
    now = utcnow()
    values = [
        {
            "print_job_id": row["print_job_id"],
            **{name: row.get(name) for name in DETAIL_TABLE_COLUMNS},
            "filament_type_folded": fold(
                row.get("filament_type"), FOLDED_WIDTHS["filament_type_folded"]
            ),
            "raw_metadata_id": row["raw_metadata_id"]
            if "raw_metadata_id" in row
            else (None if text is None else document_ids[text]),
            "created_at": now,
            "updated_at": now,
        }
        for row, text in zip(rows, texts, strict=True)
    ]
    statement = upsert_statement(
        session.get_bind().dialect,
        JOB_DETAILS,
        conflict_columns=("print_job_id",),
        update_columns=[
            *DETAIL_TABLE_COLUMNS,
            "raw_metadata_id",
            "filament_type_folded",
            "updated_at",
        ],
    )
    with rollups.tracking(session) as change:  # a job's filament type is in its details
        change.existing([row["print_job_id"] for row in values])
        change.wrote_details(values)
        for chunk in _chunks(values):
            session.execute(statement, chunk)
    return len(values)


def _raw_metadata_text(row: Mapping[str, Any]) -> str | None:
    if "raw_metadata_id" in row:
        return None
    text: str | None = row.get("raw_metadata_json") or to_json(row.get("raw_metadata"))
    return text
