"""Reading print jobs: filters, orderings and keyset pages, all in SQL."""

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    FromClause,
    Select,
    Subquery,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from gql_server.db.models import (
    TIMESTAMP_COLUMNS,
    JobAnnotation,
    JobDetails,
    JobDocument,
    MetadataDocument,
    Printer,
    PrintFile,
    PrintJob,
    value_attributes,
)
from gql_server.services.column_order import JobOrder as JobOrder
from gql_server.services.column_order import JobOrderField as JobOrderField
from gql_server.services.index_ranges import index_arms
from gql_server.services.pagination import (
    Page,
    PageArgs,
    SortKey,
    build_page,
    order_by,
    position_of,
)
from gql_server.services.sql_filters import contains, equals_folded, in_folded

# A page reads only the columns its query selects: the id and printer id always, the
# others on demand. Decoding the JSON columns and timestamps nobody asked for cost more
# than the SQL itself on a fleet page (bench/fleet_query.py measures it).
KEY_JOB_COLUMNS = [PrintJob.id, PrintJob.printer_id]
# A job's JSON documents are stored apart (metadata_documents, job_documents) and
# joined only when a query wants one: scans of print_jobs do not read them.
JOB_METADATA = aliased(MetadataDocument, name="job_metadata_document")
RAW_METADATA = aliased(MetadataDocument, name="raw_metadata_document")
DOCUMENT_JOB_COLUMNS = {
    "job_metadata": JOB_METADATA.document,
    "auxiliary_data": JobDocument.auxiliary_data,
}
# Each labelled with its attribute name (types/columns.py), which differs from the
# column's for metadata.
OPTIONAL_JOB_COLUMNS = {
    name: column.label(name)
    for name, column in {
        **{
            name: getattr(PrintJob, name)
            for name in (
                *value_attributes(PrintJob, besides=("printer_id", "file_id", "metadata_id")),
                *TIMESTAMP_COLUMNS,
            )
        },
        **DOCUMENT_JOB_COLUMNS,
    }.items()
}
JOB_COLUMNS = [*KEY_JOB_COLUMNS, *OPTIONAL_JOB_COLUMNS.values()]

# A job's details come in the same row as the job (LEFT JOIN), each column labelled with
# this prefix; ``details_id`` is NULL for a job without details. Their raw_metadata is
# the document they refer to (the importer's: the job's own metadata document).
DETAILS_PREFIX = "details_"
DETAIL_COLUMNS = {
    name: getattr(JobDetails, name)
    for name in ("id", *value_attributes(JobDetails, besides=("raw_metadata_id",)))
} | {"raw_metadata": RAW_METADATA.document}


@dataclass(frozen=True, slots=True)
class JobColumns:
    """The columns a job query reads; None reads every column of that table.

    ``details`` False leaves job_details out of the query altogether.
    """

    job: frozenset[str] | None = None
    details: bool = False
    detail: frozenset[str] | None = None


ALL_JOB_COLUMNS = JobColumns(job=None, details=True, detail=None)


def job_columns(wanted: frozenset[str] | None) -> list[Any]:
    """The key columns plus the optional ones in ``wanted`` (None: all of them). A
    caller that needs cursors asks for the sort column."""
    if wanted is None:
        return JOB_COLUMNS
    return [*KEY_JOB_COLUMNS, *(c for n, c in OPTIONAL_JOB_COLUMNS.items() if n in wanted)]


def _joined_detail_columns(columns: JobColumns) -> list[Any]:
    """The details' id (NULL: no details) and the wanted columns, prefixed."""
    if not columns.details:
        return []
    wanted = columns.detail
    return [
        column.label(DETAILS_PREFIX + name)
        for name, column in DETAIL_COLUMNS.items()
        if name == "id" or (name != "print_job_id" and (wanted is None or name in wanted))
    ]


def _wants(columns: frozenset[str] | None, name: str) -> bool:
    return columns is None or name in columns


def _select_jobs(columns: JobColumns, picked: Subquery | None = None) -> Select[Any]:
    """SELECT the wanted job columns (of the jobs ``picked`` holds, when given), and
    LEFT JOIN the details when they are wanted: one query for a page and its details
    instead of a second one with an IN list of every job id on the page. The documents
    are joined the same way, each only when it is wanted."""
    jobs: FromClause = PrintJob.__table__
    if picked is not None:
        jobs = jobs.join(picked, picked.c.job_pk == PrintJob.id)
    if _wants(columns.job, "job_metadata"):
        jobs = jobs.outerjoin(JOB_METADATA, JOB_METADATA.id == PrintJob.metadata_id)
    if _wants(columns.job, "auxiliary_data"):
        jobs = jobs.outerjoin(JobDocument.__table__, JobDocument.print_job_id == PrintJob.id)
    if columns.details:
        jobs = jobs.outerjoin(JobDetails.__table__, JobDetails.print_job_id == PrintJob.id)
        if _wants(columns.detail, "raw_metadata"):
            jobs = jobs.outerjoin(RAW_METADATA, RAW_METADATA.id == JobDetails.raw_metadata_id)
    return select(*job_columns(columns.job), *_joined_detail_columns(columns)).select_from(jobs)


@dataclass(frozen=True, slots=True)
class JobFilter:
    printer_ids: Sequence[int] | None = None
    statuses: Sequence[str] | None = None
    filename_contains: str | None = None
    user: str | None = None
    filament_types: Sequence[str] | None = None
    slicer: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    # Values of services.annotations.FailureReason: jobs annotated with one of them.
    failure_reasons: Sequence[str] | None = None


NO_FILTER = JobFilter()

# Statuses Moonraker writes; "unknown" in a filter means "any status not listed here".
KNOWN_STATUSES = (
    "completed",
    "cancelled",
    "error",
    "in_progress",
    "klippy_shutdown",
    "klippy_disconnect",
    "server_exit",
    "interrupted",
)
UNKNOWN_STATUS = "unknown"


def status_condition(statuses: Sequence[str], column: Any = PrintJob.status) -> Any:
    """``column`` (a status column: the jobs' or a rollup's) is one of ``statuses``."""
    known = [status for status in statuses if status != UNKNOWN_STATUS]
    condition: ColumnElement[bool] = column.in_(known)
    if UNKNOWN_STATUS in statuses:
        condition = or_(condition, column.not_in(KNOWN_STATUSES))
    return condition


def filter_conditions(job_filter: JobFilter) -> list[Any]:
    """WHERE conditions for a filter; every one can use an index except the substring.
    Text matches ignore case on every database (services/sql_filters.py)."""
    f = job_filter
    conditions: list[Any] = []
    if f.printer_ids is not None:
        conditions.append(PrintJob.printer_id.in_(list(f.printer_ids)))
    if f.statuses is not None:
        conditions.append(status_condition(f.statuses))
    if f.filename_contains:
        # The farm's distinct names are searched (a scan of thousands, not of every
        # job), then their jobs read through ix_print_jobs_file_id_start_time.
        files = select(PrintFile.id).where(contains(PrintFile.filename_folded, f.filename_contains))
        conditions.append(PrintJob.file_id.in_(files))
    if f.user is not None:
        conditions.append(equals_folded(PrintJob.user_folded, f.user))
    if f.filament_types is not None:
        details = select(JobDetails.print_job_id).where(
            in_folded(JobDetails.filament_type_folded, f.filament_types)
        )
        conditions.append(PrintJob.id.in_(details))
    if f.slicer is not None:
        conditions.append(equals_folded(PrintJob.slicer_folded, f.slicer))
    if f.started_after is not None:
        conditions.append(PrintJob.start_time > f.started_after)
    if f.started_before is not None:
        conditions.append(PrintJob.start_time < f.started_before)
    if f.failure_reasons is not None:
        annotated = select(JobAnnotation.print_job_id).where(
            JobAnnotation.failure_reason.in_(list(f.failure_reasons))
        )
        conditions.append(PrintJob.id.in_(annotated))
    return conditions


# The alias of each LIMITed arm, so that a plan shows which accesses are arms
# (tests/services/test_job_page_plans.py).
ARM = "arm"
PICKED_ID = "job_pk"


def _picked_jobs(
    keys: Sequence[SortKey],
    args: PageArgs,
    conditions: Sequence[Any],
    scopes: Sequence[Sequence[Any]],
) -> Subquery:
    """The ids of the jobs a page may show: for each scope (a printer, or the whole
    farm) and each index range of the ordering (services/index_ranges.py), the first
    size + 1 ids in index order, in one UNION ALL.

    Each arm is a subquery of its own: SQLite refuses ORDER BY and LIMIT on the arms of
    a compound SELECT, and MariaDB would apply them to the whole union.
    """
    arms = [
        select(PrintJob.id.label(PICKED_ID))
        .where(*conditions, *arm.conditions)
        .order_by(*arm.order)
        .limit(args.size + 1)
        for arm in index_arms(keys, args)
    ]
    # Built once per arm and copied per scope, the outer SELECT naming its column
    # instead of reading the subquery's column collection: building a construct per
    # printer and arm cost more than running the statement (bench/fleet_query.py).
    selects: list[Select[Any]] = [
        select(literal_column(PICKED_ID)).select_from(arm.where(*scope).subquery(ARM))
        for scope in scopes
        for arm in arms
    ]
    return _union_all(selects).subquery("picked")


# SQLite's default build refuses a compound SELECT of more than 500 terms (a batch of a
# hundred printers with three arms each is 300); bigger unions are nested in parts.
COMPOUND_TERMS = 400


def _union_all(selects: Sequence[Select[Any]]) -> CompoundSelect[Any]:
    if len(selects) <= COMPOUND_TERMS:
        return union_all(*selects)
    parts: list[Select[Any]] = [
        select(literal_column(PICKED_ID)).select_from(
            _union_all(selects[start : start + COMPOUND_TERMS]).subquery()
        )
        for start in range(0, len(selects), COMPOUND_TERMS)
    ]
    return _union_all(parts)


def fetch_job_page(
    session: Session,
    job_filter: JobFilter,
    order: JobOrder,
    args: PageArgs,
    columns: JobColumns = ALL_JOB_COLUMNS,
) -> Page[Any]:
    """One page of jobs, each row with its details when ``columns`` asks for them.

    Filtered to some printers, each printer's arms read its own (printer_id, sort key)
    index: one farm-wide range would pass over every other printer's jobs.
    """
    keys = order.sort_keys()
    scopes: list[tuple[Any, ...]] = [()]
    if job_filter.printer_ids:
        scopes = [(PrintJob.printer_id == pid,) for pid in sorted(set(job_filter.printer_ids))]
    picked = _picked_jobs(keys, args, filter_conditions(job_filter), scopes)
    query = (
        _select_jobs(columns, picked)
        .order_by(*order_by(keys, reverse=args.backwards))
        .limit(args.size + 1)
    )
    return build_page(session.execute(query).all(), args)


class Owner(enum.Enum):
    """Whose jobs each page of a batch holds: the job column its arms fix."""

    PRINTER = "printer_id"
    FILE = "file_id"


def _owner_column(owner: Owner) -> InstrumentedAttribute[int]:
    column: InstrumentedAttribute[int] = getattr(PrintJob, owner.value)
    return column


# The owner of each row of a batch of pages, its last column (no field reads it).
OWNER_ID = "page_owner_id"


def fetch_job_pages_per_owner(
    session: Session,
    owner: Owner,
    owner_ids: Sequence[int],
    job_filter: JobFilter,
    order: JobOrder,
    args: PageArgs,
    columns: JobColumns = ALL_JOB_COLUMNS,
) -> dict[int, Page[Any]]:
    """The same page of jobs for each of many printers or files, in ONE query.

    Each printer's arms read its (printer_id, sort key) index from the cursor and stop
    after size + 1 rows, so a page costs the same however long the history is; the
    rows of every arm, joined with their details, come back sorted by owner and page
    order, and each owner keeps its first size + 1. A file's arms read
    ix_print_jobs_file_id_start_time the same way when ordered by start time; by another
    column, they read that file's jobs (no per-file index of each ordering).
    """
    if job_filter == NO_FILTER and args.after is None and args.before is None:
        # A first or last page of every owner, unfiltered (the fleet query): the
        # statement depends only on how many owners, so it is built once per shape.
        query = _first_pages_statement(owner, len(owner_ids), order, args, columns)
        parameters = {f"owner_{i}": owner_id for i, owner_id in enumerate(owner_ids)}
    else:
        scopes = [(_owner_column(owner) == owner_id,) for owner_id in owner_ids]
        conditions = filter_conditions(job_filter)
        query = _pages_statement(owner, conditions, scopes, order, args, columns)
        parameters = {}
    grouped: dict[int, list[Any]] = {owner_id: [] for owner_id in owner_ids}
    # Core rows straight from the connection (no ORM result wrapping): the ORM's
    # wrapping of a fleet page's rows costs more than the grouping
    # (bench/fleet_query.py measures it). The owner's id is each row's last column
    # (OWNER_ID): read by position, not looked up by name for every row.
    for row in session.connection().execute(query, parameters).all():
        grouped[row[-1]].append(row)
    return {owner_id: build_page(rows, args) for owner_id, rows in grouped.items()}


@functools.lru_cache(maxsize=256)
def _first_pages_statement(
    owner: Owner, owners: int, order: JobOrder, args: PageArgs, columns: JobColumns
) -> Select[Any]:
    """The pages of ``owners`` owners bound as ``owner_0``, ``owner_1``, ...: building
    and cache-keying a union of one arm per owner cost more than running it
    (bench/fleet_query.py). The same statement object is executed from many threads,
    as SQLAlchemy allows."""
    scopes = [(_owner_column(owner) == bindparam(f"owner_{i}"),) for i in range(owners)]
    return _pages_statement(owner, [], scopes, order, args, columns)


def _pages_statement(
    owner: Owner,
    conditions: Sequence[Any],
    scopes: Sequence[Sequence[Any]],
    order: JobOrder,
    args: PageArgs,
    columns: JobColumns,
) -> Select[Any]:
    """The pages of each scope (an owner), rows in owner then page order, each row
    with its owner's id last, labelled OWNER_ID."""
    group = _owner_column(owner)
    keys = order.sort_keys()
    picked = _picked_jobs(keys, args, conditions, scopes)
    page_order = order_by(keys, reverse=args.backwards)
    query = _select_jobs(columns, picked).order_by(group, *page_order)
    if len(index_arms(keys, args)) > 1:
        # Several arms pick up to (size + 1) × arms jobs per owner: rank the picked
        # jobs by page order and send only each owner's first size + 1, with their
        # columns and details, instead of decoding rows that no page shows.
        rank = func.row_number().over(partition_by=group, order_by=page_order)
        ranked = (
            select(picked.c.job_pk, rank.label("page_rank"))
            .join_from(picked, PrintJob, picked.c.job_pk == PrintJob.id)
            .subquery("ranked")
        )
        query = (
            _select_jobs(columns, ranked)
            .where(ranked.c.page_rank <= args.size + 1)
            .order_by(group, ranked.c.page_rank)
        )
    return query.add_columns(group.label(OWNER_ID))


def count_jobs_per_file(
    session: Session, file_ids: Sequence[int], job_filter: JobFilter
) -> dict[int, int]:
    """Matching jobs of each file, in one GROUP BY over the file index."""
    return _count_jobs_per(session, PrintJob.file_id, file_ids, job_filter)


def count_jobs(session: Session, job_filter: JobFilter) -> int:
    counted: int | None = _rollup_reads().count_jobs(session, job_filter)
    if counted is not None:
        return counted
    query = select(func.count()).select_from(PrintJob).where(*filter_conditions(job_filter))
    return session.scalar(query) or 0


def count_jobs_per_printer(
    session: Session, printer_ids: Sequence[int], job_filter: JobFilter
) -> dict[int, int]:
    counted: dict[int, int] | None = _rollup_reads().count_jobs_per_printer(
        session, list(printer_ids), job_filter
    )
    if counted is not None:
        return dict.fromkeys(printer_ids, 0) | counted
    return _count_jobs_per(session, PrintJob.printer_id, printer_ids, job_filter)


def _count_jobs_per(
    session: Session, key: InstrumentedAttribute[int], ids: Sequence[int], job_filter: JobFilter
) -> dict[int, int]:
    """Matching jobs per value of ``key`` among ``ids``, 0 for those with none."""
    counts = dict.fromkeys(ids, 0)
    query = (
        select(key, func.count())
        .where(key.in_(list(ids)), *filter_conditions(job_filter))
        .group_by(key)
    )
    counts.update({value: count for value, count in session.execute(query)})
    return counts


def _rollup_reads() -> Any:
    """services/rollups/reads.py, which builds on this module's filters: imported when
    first counting, not at import time, to break the cycle."""
    from gql_server.services.rollups import reads

    return reads


def cursor_position(order: JobOrder, row: Any) -> tuple[Any, ...]:
    return position_of(order.sort_keys(), row)


def fetch_jobs_by_ids(session: Session, job_ids: Sequence[int]) -> dict[int, Any]:
    """Jobs by id, every column, each row with its details."""
    query = _select_jobs(ALL_JOB_COLUMNS).where(PrintJob.id.in_(list(job_ids)))
    return {row.id: row for row in session.execute(query)}


def fetch_details_by_id(session: Session, details_id: int) -> Any | None:
    columns = [column.label(name) for name, column in DETAIL_COLUMNS.items()]
    query = (
        select(*columns)
        .outerjoin_from(JobDetails, RAW_METADATA, RAW_METADATA.id == JobDetails.raw_metadata_id)
        .where(JobDetails.id == details_id)
    )
    return session.execute(query).first()


def count_by_printer_and_status(session: Session) -> list[tuple[str, str, int]]:
    """(printer name, status, jobs) for the metrics endpoint; one GROUP BY."""
    query = (
        select(Printer.name, PrintJob.status, func.count())
        .join(Printer, Printer.id == PrintJob.printer_id)
        .group_by(Printer.name, PrintJob.status)
    )
    return [(name, status, count) for name, status, count in session.execute(query)]
