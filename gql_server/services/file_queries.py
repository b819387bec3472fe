"""Reading the farm's files with what their jobs add up to: keyset pages, all in SQL.

Where the figures come from depends on the filter:

- no printer and no start bound: ``print_file_totals``, which has an index per
  ordering (but SUCCESS_RATE, whose NULLs-last term is sorted): a page is an index range
  whatever the number of jobs;
- a printer filter: ``print_file_printers`` of those printers, grouped by file (as many
  rows as files those printers printed);
- a start bound: the jobs themselves, grouped by file over the start_time index (as many
  rows as jobs started in the range). The rollups keep no times but the newest start.

Each source has the same columns, named as the ordering's sort keys, so a cursor is a
position whichever answered.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Double, Integer, Select, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from gql_server.db.models import Printer, PrintFile, PrintJob
from gql_server.db.tables import PRINT_FILE_PRINTERS, PRINT_FILE_TOTALS
from gql_server.db.types import as_utc
from gql_server.services.column_order import FileOrder as FileOrder
from gql_server.services.column_order import FileOrderField as FileOrderField
from gql_server.services.pagination import (
    Page,
    PageArgs,
    SortKey,
    after,
    build_page,
    order_by,
    position_of,
)
from gql_server.services.rollups.files import grouped_jobs, success_rate
from gql_server.services.sql_filters import contains

# What every source selects, by label.
FIGURES = (
    "job_count",
    "completed_count",
    "finished_count",
    "completed_print_time",
    "filament_used",
    "last_start",
    "success_rate",
)


@dataclass(frozen=True, slots=True)
class FileRow:
    """A file and its figures (zero when none of its jobs is counted)."""

    file_id: int
    filename: str
    job_count: int
    completed_count: int
    finished_count: int
    completed_print_time: float
    filament_used: float
    last_start: datetime | None
    success_rate: float | None

    @property
    def average_print_duration(self) -> float | None:
        """Of the completed jobs: what printing the file takes when it works."""
        if not self.completed_count:
            return None
        return self.completed_print_time / self.completed_count


def _instant(value: datetime | str | None) -> datetime | None:
    # MAX() over a subquery comes back as text on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return None if value is None else as_utc(value)


def file_row(row: Any) -> FileRow:
    """From a row with file_id, filename and FIGURES (NULL figures: no jobs counted)."""
    rate = row.success_rate
    return FileRow(
        file_id=int(row.file_id),
        filename=row.filename,
        job_count=int(row.job_count or 0),
        completed_count=int(row.completed_count or 0),
        finished_count=int(row.finished_count or 0),
        completed_print_time=float(row.completed_print_time or 0.0),
        filament_used=float(row.filament_used or 0.0),
        last_start=_instant(row.last_start),
        success_rate=None if rate is None else float(rate),
    )


@dataclass(frozen=True, slots=True)
class FileFilter:
    name_contains: str | None = None
    printer_ids: Sequence[int] | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None

    @property
    def has_start_bound(self) -> bool:
        return self.started_after is not None or self.started_before is not None


def _from_totals() -> Select[Any]:
    t = PRINT_FILE_TOTALS
    return select(t.c.file_id, *(t.c[name] for name in FIGURES))


def _from_file_printers(printer_ids: Sequence[int]) -> Select[Any]:
    p = PRINT_FILE_PRINTERS
    counts = [cast(func.sum(p.c[n]), Integer).label(n) for n in FIGURES[:3]]
    sums = [func.sum(p.c[n]).label(n) for n in ("completed_print_time", "filament_used")]
    return (
        select(p.c.file_id, *counts, *sums, func.max(p.c.last_start).label("last_start"))
        .where(p.c.printer_id.in_(list(printer_ids)))
        .group_by(p.c.file_id)
    )


def _from_jobs(file_filter: FileFilter) -> Select[Any]:
    query = grouped_jobs(PrintJob.file_id)
    f = file_filter
    if f.printer_ids is not None:
        query = query.where(PrintJob.printer_id.in_(list(f.printer_ids)))
    if f.started_after is not None:
        query = query.where(PrintJob.start_time > f.started_after)
    if f.started_before is not None:
        query = query.where(PrintJob.start_time < f.started_before)
    return query


def _source(file_filter: FileFilter) -> Any:
    """A selectable with file_id and FIGURES for the files the filter keeps (by start
    and printer; the name is matched by the caller)."""
    if file_filter.has_start_bound:
        grouped = _from_jobs(file_filter).subquery("grouped")
    elif file_filter.printer_ids is not None:
        grouped = _from_file_printers(file_filter.printer_ids).subquery("grouped")
    else:
        return None
    rate = type_coerce(success_rate(grouped.c.completed_count, grouped.c.finished_count), Double)
    return select(
        grouped.c.file_id, *(grouped.c[n] for n in FIGURES[:-1]), rate.label("success_rate")
    ).subquery("files")


def _keys(order: FileOrder, source: Any) -> list[SortKey]:
    """The ordering's keys over ``source`` (the totals table itself when None)."""
    if source is None:
        return order.sort_keys()
    return [
        SortKey(source.c[key.column.key], key.descending, key.nullable) for key in order.sort_keys()
    ]


def _files_query(file_filter: FileFilter) -> tuple[Select[Any], Any]:
    source = _source(file_filter)
    if source is None:
        query = _from_totals().add_columns(PrintFile.filename)
        query = query.join(PrintFile, PrintFile.id == PRINT_FILE_TOTALS.c.file_id)
    else:
        query = select(source, PrintFile.filename).join(PrintFile, PrintFile.id == source.c.file_id)
    if file_filter.name_contains:
        query = query.where(contains(PrintFile.filename_folded, file_filter.name_contains))
    return query, source


def fetch_file_page(
    session: Session, file_filter: FileFilter, order: FileOrder, args: PageArgs
) -> Page[Any]:
    """A page of files, each row with ``file_id``, ``filename`` and FIGURES."""
    query, source = _files_query(file_filter)
    keys = _keys(order, source)
    if args.after is not None:
        query = query.where(after(keys, args.after))
    if args.before is not None:
        query = query.where(after(keys, args.before, reverse=True))
    query = query.order_by(*order_by(keys, reverse=args.backwards)).limit(args.size + 1)
    return build_page([file_row(row) for row in session.execute(query)], args)


def count_files(session: Session, file_filter: FileFilter) -> int:
    query, _ = _files_query(file_filter)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def file_position(order: FileOrder, row: Any) -> tuple[Any, ...]:
    return position_of(order.sort_keys(), row)


def fetch_files_by_ids(session: Session, file_ids: Sequence[int]) -> dict[int, FileRow]:
    """Files by id with their figures over every job (absent: no such file; a file
    whose jobs were all deleted has zero figures)."""
    t = PRINT_FILE_TOTALS
    figures = [t.c[name] for name in FIGURES]
    query = (
        select(PrintFile.id.label("file_id"), PrintFile.filename, *figures)
        .outerjoin(t, t.c.file_id == PrintFile.id)
        .where(PrintFile.id.in_(list(file_ids)))
    )
    return {row.file_id: file_row(row) for row in session.execute(query)}


def fetch_files_of_jobs(session: Session, job_ids: Sequence[int]) -> dict[int, FileRow]:
    """Each job's file (by job id), as ``fetch_files_by_ids`` has it, in one query."""
    t = PRINT_FILE_TOTALS
    figures = [t.c[name] for name in FIGURES]
    query = (
        select(PrintJob.id.label("job_pk"), PrintFile.id.label("file_id"), PrintFile.filename)
        .add_columns(*figures)
        .join(PrintFile, PrintFile.id == PrintJob.file_id)
        .outerjoin(t, t.c.file_id == PrintFile.id)
        .where(PrintJob.id.in_(list(job_ids)))
    )
    return {row.job_pk: file_row(row) for row in session.execute(query)}


def fetch_printers_of_files(
    session: Session, file_ids: Sequence[int], printer_ids: Sequence[int] | None
) -> dict[int, list[Any]]:
    """The printers rows that printed each file (among ``printer_ids`` when given),
    by name, in one query over ``print_file_printers``."""
    p = PRINT_FILE_PRINTERS
    query = (
        select(p.c.file_id, Printer)
        .join(Printer, Printer.id == p.c.printer_id)
        .where(p.c.file_id.in_(list(file_ids)))
        .order_by(p.c.file_id, Printer.name_folded)
    )
    if printer_ids is not None:
        query = query.where(p.c.printer_id.in_(list(printer_ids)))
    found: dict[int, list[Any]] = {file_id: [] for file_id in file_ids}
    for file_id, printer in session.execute(query):
        found[file_id].append(printer)
    return found
