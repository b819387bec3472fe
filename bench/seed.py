"""Seed a database with a synthetic fleet for the benchmarks (not used by tests)."""

import functools
import itertools
import multiprocessing
import random
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Column, LargeBinary, String, Table, func, select, type_coerce
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from gql_server.db.engine import create_db_engine
from gql_server.db.folding import fold
from gql_server.db.models import (
    FOLDED_WIDTHS,
    Base,
    JobDetails,
    JobDocument,
    MetadataDocument,
    Printer,
    PrintFile,
    PrintJob,
)
from gql_server.db.session import Database
from gql_server.db.types import CompressedJSON, compress_json, utcnow
from gql_server.moonraker.parse import parse_details, parse_job
from gql_server.services import jobs, text_rows
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.printers import create_printer
from gql_server.services.totals import recompute_totals
from tests.support.fake_moonraker import STATUS_WEIGHTS, UNFINISHED, _aux_data, recorded_jobs

STATUSES = ("completed", "completed", "completed", "cancelled", "error")
FILAMENTS = ("PLA", "PETG", "ABS", "ASA", "TPU")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def job_row(printer: int, index: int) -> dict[str, Any]:
    start = EPOCH + timedelta(hours=index * 7 + printer, seconds=index)
    return {
        "job_id": f"{index + 1:06X}",
        "user": "No User",
        "filename": f"printer{printer}/part_{index}.gcode",
        "status": STATUSES[index % len(STATUSES)],
        "start_time": start,
        "end_time": start + timedelta(seconds=3600 + index),
        "print_duration": 3000.5 + index,
        "total_duration": 3600.25 + index,
        "filament_used": 1234.5 + index,
        "job_metadata": {"slicer": "PrusaSlicer", "layer_height": 0.2, "estimated_time": 3000},
        "auxiliary_data": [],
    }


def seed_fleet(database: Database, printers: int = 50, jobs: int = 200) -> None:
    with database.scope() as session:
        ids = []
        for p in range(printers):
            printer = create_printer(
                session, name=f"printer-{p:02d}", moonraker_url=f"http://10.0.0.{p}:7125"
            )
            ids.append(printer.id)
            result = upsert_jobs(session, printer.id, [job_row(p, j) for j in range(jobs)])
            details = [
                {"print_job_id": job_id, "filament_type": FILAMENTS[n % 5], "layer_height": 0.2}
                for n, job_id in enumerate(result.ids.values())
            ]
            upsert_details(session, details)
        recompute_totals(session, ids)


# ------------------------------------------------------------------- farm-scale seeding
# bench/scale.py's farm. The rows are built from Moonraker-shaped jobs with the
# importer's own pieces (parse_job, parse_details, to_json, fingerprint, fold) and
# inserted with the driver's executemany: the importer's own path spends its time in
# Python per job, and a million jobs would keep this machine busy too long. What
# a job shares with its file (metadata text, folded names, details) is derived once per
# file. check_like_importer proves on every seeding that the rows equal what the
# importer's write path stores for the same jobs. Everything is deterministic per seed.

FARM_FILAMENTS = {"PLA": 45, "PETG": 25, "ABS": 10, "ASA": 8, "TPU": 7, "PA-CF": 5}
FARM_END = datetime(2026, 11, 1, tzinfo=UTC)
FARM_SPAN = timedelta(days=3 * 365)
FARM_FILES = 3000
# In every 1000th file name only: with files drawn uniformly, it matches ~0.1 % of jobs.
RARE_TERM = "kabelhalter"
PART_STEMS = (
    "bracket", "gear_m1.5", "hinge", "Gridfinity bin 2x3x6", "phone stand v2", "cable_clip_x10",
    "spool holder", "raspberry_pi_4_case_top", "plant pot vase", "gopro_mount", "knob",
    "Halterung für Kabelkanal", "Lüfterabdeckung", "ケース", "support café Ø20", "z_chain_guide",
    "enclosure_corner", "filament_guide", "drawer_handle", "tool_holder", "lid", "spacer 5mm",
)  # fmt: skip
FOLDERS = ("", "", "", "voron/", "calibration/", "kunde-müller/", "日本語/")
JOBS_PER_CHUNK = 2000  # rows per executemany; one transaction per printer
CHECKED_JOBS = 300  # jobs of the first printer written both ways and compared


@dataclass(frozen=True, slots=True)
class FarmFile:
    """A gcode file of the farm; every job of it carries the same metadata."""

    filename: str
    metadata: dict[str, Any]
    estimate: float  # seconds
    rate: float  # mm of filament per second
    # What the importer derives from the file for every job of it, derived once here.
    metadata_json: str
    filename_folded: str
    slicer_folded: str | None
    details: dict[str, Any] | None  # None: empty metadata, no details row


def _file_name(n: int, rng: random.Random, filament: str) -> str:
    stem = rng.choice(PART_STEMS)
    rare = f"{RARE_TERM}_" if n % 1000 == 500 else ""
    layer = rng.choice(("0.12", "0.16", "0.2", "0.28"))
    return f"{rng.choice(FOLDERS)}{rare}{stem}_{n:04d}_{filament}_{layer}mm.gcode"


def _file_metadata(template: dict[str, Any], name: str, filament: str, rng: random.Random) -> Any:
    """The template's metadata with this file's numbers: same keys, same size."""
    scale = rng.uniform(0.2, 4.0)
    metadata = dict(template)
    tall = min(scale, 2.5)
    numbers = {
        "size": int(template.get("size", 100_000) * scale),
        "modified": (FARM_END - FARM_SPAN).timestamp() - rng.uniform(0, 86_400 * 90),
        "estimated_time": max(300, round(float(template.get("estimated_time") or 3600) * scale)),
        "object_height": round(float(template.get("object_height") or 20) * tall, 2),
        "layer_count": round(int(template.get("layer_count") or 100) * tall),
        "filament_total": round(float(template.get("filament_total") or 5000) * scale, 2),
        "filament_weight_total": round(
            float(template.get("filament_weight_total") or 15) * scale, 2
        ),
        "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
        "filament_type": filament,
        "filament_name": f"Generic {filament}",
    }
    metadata.update({key: value for key, value in numbers.items() if key in template})
    stem = name.rsplit("/", 1)[-1].removesuffix(".gcode")
    if "thumbnails" in template:
        metadata["thumbnails"] = [
            {**thumb, "relative_path": f".thumbs/{stem}-{thumb['width']}x{thumb['height']}.png"}
            for thumb in template["thumbnails"]
        ]
    return metadata


def farm_file(name: str, metadata: dict[str, Any], rng: random.Random) -> FarmFile:
    estimate = float(metadata.get("estimated_time") or rng.uniform(600, 14_400))
    rate = float(metadata.get("filament_total") or estimate * 1.2) / estimate
    details = None
    if metadata:
        parsed = parse_details(metadata)
        details = {name: parsed[name] for name in jobs.DETAIL_TABLE_COLUMNS}
        details["filament_type_folded"] = fold(
            details["filament_type"], FOLDED_WIDTHS["filament_type_folded"]
        )
    metadata_json = jobs.to_json(metadata) or "{}"
    return FarmFile(
        filename=name,
        metadata=metadata,
        estimate=estimate,
        rate=rate,
        metadata_json=metadata_json,
        filename_folded=fold(name, FOLDED_WIDTHS["filename_folded"]),
        slicer_folded=fold(jobs.metadata_slicer(metadata), FOLDED_WIDTHS["slicer_folded"]),
        details=details,
    )


def farm_files(count: int, rng: random.Random) -> list[FarmFile]:
    """``count`` distinct files modelled on the recorded jobs' metadata; about 3 % with
    the empty or thin metadata Moonraker keeps for files it could not parse."""
    recorded = [job["metadata"] for job in recorded_jobs().values()]
    templates = [metadata for metadata in recorded if metadata.get("slicer")]
    thin = [metadata for metadata in recorded if not metadata.get("slicer")]
    kinds, weights = list(FARM_FILAMENTS), list(FARM_FILAMENTS.values())
    files = []
    for n in range(count):
        filament = rng.choices(kinds, weights)[0]
        name = _file_name(n, rng, filament)
        if n % 33 == 0:
            metadata = dict(thin[n % len(thin)])
        else:
            metadata = _file_metadata(templates[n % len(templates)], name, filament, rng)
        files.append(farm_file(name, metadata, rng))
    return files


def _status(rng: random.Random, last: bool, printer: int) -> str:
    """Moonraker's statuses in the fake's proportions; the newest job of every third
    printer is still printing (never more than one per printer)."""
    if last and printer % 3 == 0:
        return "in_progress"
    return rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]


def farm_job(
    rng: random.Random, printer: int, index: int, count: int, file: FarmFile
) -> dict[str, Any]:
    """Job ``index`` of ``count`` of one printer, spread evenly over FARM_SPAN, as
    Moonraker's /server/history/list returns it."""
    step = FARM_SPAN.total_seconds() / count
    start = (FARM_END - FARM_SPAN).timestamp() + index * step + rng.uniform(0, step * 0.3)
    status = _status(rng, index == count - 1, printer)
    if status in UNFINISHED:
        total, printed, filament = rng.uniform(0.05, 5.0), 0.0, 0.0
    else:
        share = rng.uniform(0.95, 1.15) if status == "completed" else rng.uniform(0.02, 0.8)
        total = min(file.estimate * share, step * 0.65)
        printed = total * rng.uniform(0.75, 0.97)
        filament = printed * file.rate
    power = 0 if status in UNFINISHED else round(rng.uniform(120.0, 310.0), 1)
    return {
        "job_id": f"{index + 1:06X}",
        "user": "No User",
        "filename": file.filename,
        "status": status,
        "start_time": round(start, 6),
        "end_time": None if status in UNFINISHED else round(start + total, 6),
        "print_duration": round(printed, 6),
        "total_duration": round(total, 6),
        "filament_used": round(filament, 6),
        "metadata": file.metadata,
        "auxiliary_data": _aux_data(total, power=power, spool_id=rng.randint(1, 15)),
    }


@dataclass(frozen=True, slots=True)
class FarmIds:
    """Row ids of the farm's file names and metadata documents, by their text."""

    files: dict[str, int]
    documents: dict[str, int]


@dataclass(frozen=True, slots=True)
class PageRows:
    """The rows of a page of jobs, one list per table."""

    jobs: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    details: list[dict[str, Any]]


def job_rows(
    printer_id: int,
    first_id: int,
    page: list[tuple[dict[str, Any], FarmFile]],
    now: datetime,
    ids: "FarmIds",
) -> PageRows:
    """print_jobs, job_documents and job_details rows of a page, with the ids the jobs
    will have."""
    rows = PageRows([], [], [])
    for pk, (raw, file) in enumerate(page, start=first_id):
        row = parse_job(raw)
        values = {name: row[name] for name in jobs.JOB_COLUMNS}
        end = values["end_time"]  # parse_job gives naive UTC; the importer makes it aware
        values["end_time"] = end if end is None else end.replace(tzinfo=UTC)
        values["job_metadata"] = file.metadata_json
        auxiliary = jobs.to_json(row["auxiliary_data"])
        values["auxiliary_data"] = auxiliary
        values["content_hash"] = jobs.fingerprint(values)
        for name in jobs.JSON_COLUMNS:
            del values[name]
        metadata_id = ids.documents[file.metadata_json]
        rows.jobs.append({
            **values, "id": pk, "printer_id": printer_id, "job_id": row["job_id"],
            "start_time": jobs.job_key(row)[1], "created_at": now, "updated_at": now,
            "file_id": ids.files[file.filename], "metadata_id": metadata_id,
            "user_folded": fold(row["user"], FOLDED_WIDTHS["user_folded"]),
            "slicer_folded": file.slicer_folded,
        })  # fmt: skip
        rows.documents.append({
            "print_job_id": pk,
            "auxiliary_data": None if auxiliary is None else compress_json(auxiliary),
        })  # fmt: skip
        if file.details is not None:
            # The importer reads a job's details from its metadata: the same document.
            rows.details.append({
                **file.details, "print_job_id": pk, "raw_metadata_id": metadata_id,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
    return rows


def _processor(session: Session, column: Column[Any]) -> Any:
    """What SQLAlchemy would do to a value on its way to the driver. Documents are
    given compressed already (job_rows)."""
    dialect = session.get_bind().dialect
    if isinstance(column.type, CompressedJSON):
        return None
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """One prepared INSERT over many rows with the driver's executemany (PyMySQL makes
    it multi-row INSERTs), each value processed as its column type says."""
    if not rows:
        return
    columns = list(rows[0])
    processors = [_processor(session, table.c[name]) for name in columns]
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    params = [
        tuple(row[name] if process is None else process(row[name])
              for name, process in zip(columns, processors, strict=True))
        for row in rows
    ]  # fmt: skip
    session.connection().exec_driver_sql(sql, params)


def printer_jobs(
    p: int, count: int, files: list[FarmFile], seed: int
) -> Iterator[tuple[dict[str, Any], FarmFile]]:
    """Printer ``p``'s jobs, oldest first, each with its file: the same on every call."""
    rng = random.Random(seed * 1_000_003 + p)
    for index in range(count):
        file = rng.choice(files)
        yield farm_job(rng, p, index, count, file), file


def seed_printer(database: Database, p: int, count: int, first_id: int, seed: int) -> None:
    """Printer ``p`` (farm-NNN) and its ``count`` jobs, numbered from ``first_id``. The
    rows are built before the writing transaction opens, so that on SQLite another
    worker can build its own while this one writes."""
    files = _farm_files(seed)
    with database.scope() as session:
        name, url = f"farm-{p:03d}", f"http://10.1.{p // 250}.{p % 250 + 1}:7125"
        printer_id = create_printer(session, name=name, moonraker_url=url).id
        ids = FarmIds(
            files=dict(session.execute(select(PrintFile.filename, PrintFile.id)).tuples().all()),
            documents=_document_ids(session, files),
        )
    now = utcnow()
    jobs_iter = printer_jobs(p, count, files, seed)
    pages = [
        job_rows(
            printer_id,
            first_id + first,
            list(itertools.islice(jobs_iter, JOBS_PER_CHUNK)),
            now,
            ids,
        )
        for first in range(0, count, JOBS_PER_CHUNK)
    ]
    with database.scope() as session:
        for page in pages:
            bulk_insert(session, cast(Table, PrintJob.__table__), page.jobs)
            bulk_insert(session, cast(Table, JobDocument.__table__), page.documents)
            bulk_insert(session, cast(Table, JobDetails.__table__), page.details)


def _document_ids(session: Session, files: list[FarmFile]) -> dict[str, int]:
    """The id of each file's metadata document (seed_farm wrote them)."""
    by_digest = dict(
        session.execute(select(MetadataDocument.digest, MetadataDocument.id)).tuples().all()
    )
    return {
        file.metadata_json: by_digest[text_rows.text_digest(file.metadata_json)] for file in files
    }


@functools.cache
def _farm_files(seed: int) -> list[FarmFile]:
    return farm_files(FARM_FILES, random.Random(seed))


@functools.cache
def _worker_database(url: str) -> Database:
    return Database(create_db_engine(url))


def _seed_in_worker(url: str, p: int, count: int, first_id: int, seed: int) -> int:
    seed_printer(_worker_database(url), p, count, first_id, seed)
    return count


def seed_farm(
    database: Database,
    printers: int,
    jobs_per_printer: int,
    *,
    seed: int = 12,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """``printers`` × ``jobs_per_printer`` jobs over three years, one transaction per
    printer, by ``workers`` processes (on MariaDB two keep both cores of a small machine
    busy: one builds rows while the server writes the other's), then the totals with
    the importer's own statement. ``progress`` gets the jobs written so far. Returns
    the tables an import writes that the seeding left empty (check_like_importer)."""
    with database.scope() as session:
        base = session.execute(select(func.coalesce(func.max(PrintJob.id), 0))).scalar_one()
        # Every file of the farm and its metadata, with the importer's own statements,
        # before the jobs.
        files = _farm_files(seed)
        jobs.write_file_names(session, [file.filename for file in files])
        jobs.write_metadata_documents(session, [file.metadata_json for file in files])
    url = database.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    done = 0
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [
            pool.submit(
                _seed_in_worker, url, p, jobs_per_printer, base + p * jobs_per_printer + 1, seed
            )
            for p in range(printers)
        ]
        for future in as_completed(futures):
            done += future.result()
            if progress is not None:
                progress(done)
    with database.scope() as session:
        ids = list(session.scalars(select(Printer.id).where(Printer.name.like("farm-%"))))
        recompute_totals(session, ids)
        first = session.execute(select(Printer.id).where(Printer.name == "farm-000")).scalar_one()
    sample = [
        raw
        for raw, _ in itertools.islice(
            printer_jobs(0, jobs_per_printer, _farm_files(seed), seed), CHECKED_JOBS
        )
    ]
    return check_like_importer(database, first, sample)


# Set by the database or by the write itself, not by the job.
NOT_COMPARED = frozenset({"id", "printer_id", "print_job_id", "created_at", "updated_at"})
SEEDED_TABLES = frozenset({
    "printers", "print_files", "metadata_documents", "print_jobs", "job_documents",
    "job_details", "job_totals",
})  # fmt: skip


def check_like_importer(
    database: Database, printer_id: int, sample: list[dict[str, Any]]
) -> list[str]:
    """Write ``sample`` (jobs of ``printer_id`` as Moonraker sent them) again through the
    importer's write path (services/importer.py, _write_page, minus the gcode tails) for
    a scratch printer, compare every column, and roll it back. Returns the other tables
    that write grew: the seeding does not fill them (rollups: ``rollups rebuild`` does)."""
    with database.sessions() as session:
        before = _row_counts(session)
        scratch = create_printer(session, name="farm-check", moonraker_url="http://10.9.9.9:7125")
        rows = [parse_job(raw) for raw in sample]
        batch = jobs.plan_jobs(session, scratch.id, rows)
        result = jobs.write_jobs(session, batch)
        jobs.upsert_details(session, [
            {"print_job_id": result.ids[key], "raw_metadata_id": result.metadata_ids[key],
             **_details(row["job_metadata"])}
            for row in rows if row["job_metadata"] and (key := jobs.job_key(row))
        ])  # fmt: skip
        grown = [name for name, count in _row_counts(session).items() if count > before[name]]
        bulk, imported = (_stored(session, pid, len(sample)) for pid in (printer_id, scratch.id))
        session.rollback()
    pairs = itertools.zip_longest(bulk, imported)
    differing = next((pair for pair in pairs if pair[0] != pair[1]), None)
    if differing is not None:
        raise RuntimeError(
            f"seeded rows differ from the importer's (seeded, imported): {differing}"
        )
    return grown


def _details(metadata: dict[str, Any]) -> dict[str, Any]:
    """As the importer writes them: read from the job's metadata (its rawMetadata)."""
    details = parse_details(metadata)
    del details["raw_metadata"]
    return details


def _row_counts(session: Session) -> dict[str, int]:
    """Rows per table, but the ones seed_farm writes (the big ones)."""
    tables = [table for table in Base.metadata.sorted_tables if table.name not in SEEDED_TABLES]
    return {
        table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in tables
    }


def _as_stored(column: Column[Any]) -> Any:
    if isinstance(column.type, CompressedJSON):
        return type_coerce(column, LargeBinary())
    return sql_cast(column, String())


def _stored(session: Session, printer_id: int, count: int) -> list[dict[str, Any]]:
    """A printer's first ``count`` jobs with their details, as comparable dicts."""
    # As stored (text; documents as their bytes): a datetime or JSON written in another
    # form would show.
    tables = (PrintJob, JobDocument, JobDetails)  # metadata_documents: by its id
    compared = [
        _as_stored(column).label(f"{table.name}.{column.name}")
        for table in (cast(Table, model.__table__) for model in tables)
        for column in table.columns
        if column.name not in NOT_COMPARED
    ]
    query = (
        select(*compared)
        .outerjoin_from(PrintJob, JobDocument, JobDocument.print_job_id == PrintJob.id)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(PrintJob.printer_id == printer_id)
        .order_by(PrintJob.start_time)
        .limit(count)
    )
    return [dict(row._mapping) for row in session.execute(query)]
