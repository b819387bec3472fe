"""Reading print jobs: filters, orderings and keyset pages, all in SQL."""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, Subquery, func, or_, select
from sqlalchemy.orm import Session

from gql_server.db.models import TIMESTAMP_COLUMNS, JobDetails, Printer, PrintJob, value_attributes
from gql_server.services.column_order import ColumnOrder
from gql_server.services.pagination import (
    Page,
    PageArgs,
    build_page,
    order_by,
    position_of,
    window,
)
from gql_server.services.sql_filters import contains, equals_folded, in_folded

# A page reads only the columns its query selects: the id and printer id always, the
# others on demand. Decoding the JSON columns and timestamps nobody asked for cost more
# than the SQL itself on a fleet page (bench/fleet_query.py measures it).
KEY_JOB_COLUMNS = [PrintJob.id, PrintJob.printer_id]
PRINTER_ID_POSITION = 1
# Each labelled with its attribute name, which differs from the column's for metadata.
OPTIONAL_JOB_COLUMNS = {
    name: getattr(PrintJob, name).label(name)
    for name in (*value_attributes(PrintJob, besides=("printer_id",)), *TIMESTAMP_COLUMNS)
}
JOB_COLUMNS = [*KEY_JOB_COLUMNS, *OPTIONAL_JOB_COLUMNS.values()]

# A job's details come in the same row as the job (LEFT JOIN), each column labelled with
# this prefix; ``details_id`` is NULL for a job without details.
DETAILS_PREFIX = "details_"
DETAIL_COLUMNS = {name: getattr(JobDetails, name) for name in ("id", *value_attributes(JobDetails))}


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


def _select_jobs(columns: JobColumns, numbered: Subquery | None = None) -> Select[Any]:
    """SELECT the wanted job columns (of the jobs ``numbered`` keeps, when given), and
    LEFT JOIN the details when they are wanted: one query for a page and its details
    instead of a second one with an IN list of every job id on the page."""
    jobs: FromClause = PrintJob.__table__
    if numbered is not None:
        jobs = jobs.join(numbered, numbered.c.job_pk == PrintJob.id)
    if columns.details:
        jobs = jobs.outerjoin(JobDetails.__table__, JobDetails.print_job_id == PrintJob.id)
    return select(*job_columns(columns.job), *_joined_detail_columns(columns)).select_from(jobs)


class JobOrderField(enum.Enum):
    START_TIME = "start_time"
    END_TIME = "end_time"
    DURATION = "total_duration"
    FILAMENT_USED = "filament_used"


@dataclass(frozen=True, slots=True)
class JobOrder(ColumnOrder):
    """Newest first unless asked otherwise: what a history view shows first."""

    model = PrintJob
    field: JobOrderField = JobOrderField.START_TIME
    descending: bool = True


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
        conditions.append(contains(PrintJob.filename_folded, f.filename_contains))
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
    return conditions


def _page_query(
    job_filter: JobFilter, order: JobOrder, args: PageArgs, columns: JobColumns
) -> Select[Any]:
    keys = order.sort_keys()
    return (
        _select_jobs(columns)
        .where(*filter_conditions(job_filter), *window(keys, args))
        .order_by(*order_by(keys, reverse=args.backwards))
    )


def fetch_job_page(
    session: Session,
    job_filter: JobFilter,
    order: JobOrder,
    args: PageArgs,
    columns: JobColumns = ALL_JOB_COLUMNS,
) -> Page[Any]:
    """One page of jobs, each row with its details when ``columns`` asks for them."""
    query = _page_query(job_filter, order, args, columns).limit(args.size + 1)
    return build_page(session.execute(query).all(), args)


def fetch_job_pages_per_printer(
    session: Session,
    printer_ids: Sequence[int],
    job_filter: JobFilter,
    order: JobOrder,
    args: PageArgs,
    columns: JobColumns = ALL_JOB_COLUMNS,
) -> dict[int, Page[Any]]:
    """The same page of jobs for each of many printers, in ONE query.

    ROW_NUMBER() OVER (PARTITION BY printer_id ORDER BY …) numbers each printer's jobs
    in page order; keeping rows numbered up to size + 1 gives every printer its page plus
    the one extra row that tells whether another page exists.
    """
    keys = order.sort_keys()
    row_number = (
        func.row_number()
        .over(partition_by=PrintJob.printer_id, order_by=order_by(keys, reverse=args.backwards))
        .label("row_number")
    )
    # Number narrow rows (id + sort key, index-only where possible), then join back for
    # the page's full rows: sorting every matching row with its JSON costs several times
    # more (bench/fleet_query.py measures it).
    numbered = (
        select(PrintJob.id.label("job_pk"), row_number)
        .where(
            PrintJob.printer_id.in_(list(printer_ids)),
            *filter_conditions(job_filter),
            *window(keys, args),
        )
        .subquery("numbered")
    )
    query = (
        _select_jobs(columns, numbered)
        .where(numbered.c.row_number <= args.size + 1)
        .order_by(PrintJob.printer_id, numbered.c.row_number)
    )
    grouped: dict[int, list[Any]] = {printer_id: [] for printer_id in printer_ids}
    # Core rows straight from the connection (no ORM result wrapping), grouped by
    # position: the ORM's wrapping of a fleet page's rows costs more than the grouping
    # (bench/fleet_query.py measures it).
    for row in session.connection().execute(query).all():
        grouped[row[PRINTER_ID_POSITION]].append(row)
    return {printer_id: build_page(rows, args) for printer_id, rows in grouped.items()}


def count_jobs(session: Session, job_filter: JobFilter) -> int:
    counted: int | None = _rollup_reads().count_jobs(session, job_filter)
    if counted is not None:
        return counted
    query = select(func.count()).select_from(PrintJob).where(*filter_conditions(job_filter))
    return session.scalar(query) or 0


def count_jobs_per_printer(
    session: Session, printer_ids: Sequence[int], job_filter: JobFilter
) -> dict[int, int]:
    counts = dict.fromkeys(printer_ids, 0)
    counted = _rollup_reads().count_jobs_per_printer(session, list(printer_ids), job_filter)
    if counted is not None:
        counts.update(counted)
        return counts
    query = (
        select(PrintJob.printer_id, func.count())
        .where(PrintJob.printer_id.in_(list(printer_ids)), *filter_conditions(job_filter))
        .group_by(PrintJob.printer_id)
    )
    counts.update({printer_id: count for printer_id, count in session.execute(query)})
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
    query = select(*DETAIL_COLUMNS.values()).where(JobDetails.id == details_id)
    return session.execute(query).first()


def count_by_printer_and_status(session: Session) -> list[tuple[str, str, int]]:
    """(printer name, status, jobs) for the metrics endpoint; one GROUP BY."""
    query = (
        select(Printer.name, PrintJob.status, func.count())
        .join(Printer, Printer.id == PrintJob.printer_id)
        .group_by(Printer.name, PrintJob.status)
    )
    return [(name, status, count) for name, status, count in session.execute(query)]
