"""Every job a filter matches, in the order asked, read in keyset batches.

An export walks the same keyset pages as ``printJobs`` (services/job_queries.py), only
bigger, so it reads index ranges from a cursor and never an OFFSET: the millionth row
costs what the first did, and only one batch is held at a time. Each batch is its own
unit of work: a slow client holds no transaction and no connection between batches.
A job inserted or moved in the sort order while an export runs may be missed or
appear; every other job appears exactly once.
"""

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.db.models import Printer
from gql_server.services.errors import ValidationError
from gql_server.services.job_queries import (
    JobColumns,
    JobFilter,
    JobOrder,
    cursor_position,
    fetch_job_page,
)
from gql_server.services.pagination import PageArgs, Position

T = TypeVar("T")
# Runs one unit of work (db/session.py ``Database.scope_run``): the one place that commits.
SessionRunner = Callable[[Callable[[Session], T]], T]

# Rows per batch: big enough that the per-statement cost vanishes, small enough that a
# batch's rows and their encoding stay a few megabytes.
EXPORT_BATCH = 1000
MAX_EXPORT_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class BatchArgs(PageArgs):
    """A page of ``first`` rows for an export: the server's own batch size, above the
    page sizes a client may ask for (pagination.MAX_PAGE_SIZE)."""

    def __post_init__(self) -> None:
        if self.first is None or not 1 <= self.first <= MAX_EXPORT_BATCH:
            raise ValidationError(
                f"an export batch is 1 to {MAX_EXPORT_BATCH} rows, got {self.first}",
                field="batch",
                code="BAD_BATCH_SIZE",
            )


@dataclass(slots=True)
class JobBatch:
    """Rows of ``fetch_job_page`` (every column ``columns`` names, details joined) and
    the names of their printers."""

    rows: list[Any]
    printer_names: dict[int, str] = field(default_factory=dict)


def fetch_job_batch(
    session: Session,
    *,
    job_filter: JobFilter,
    order: JobOrder,
    columns: JobColumns,
    after: Position | None,
    size: int,
) -> tuple[list[Any], Position | None]:
    """One batch from the cursor ``after``, and the cursor of the next (None: the last)."""
    page = fetch_job_page(session, job_filter, order, BatchArgs(first=size, after=after), columns)
    following = cursor_position(order, page.items[-1]) if page.has_next else None
    return page.items, following


def printer_names(session: Session, printer_ids: Collection[int]) -> dict[int, str]:
    query = select(Printer.id, Printer.name).where(Printer.id.in_(sorted(printer_ids)))
    return {printer_id: name for printer_id, name in session.execute(query)}


def job_batches(
    run: SessionRunner[Any],
    *,
    job_filter: JobFilter,
    order: JobOrder,
    columns: JobColumns,
    size: int = EXPORT_BATCH,
) -> Iterator[JobBatch]:
    """Batches until the filter's jobs are all read; lazily, one unit of work each.

    ``columns`` must include the order's sort column (the cursor is read from it).
    Printer names are read once per printer of the export, in the batch that first
    meets it.
    """
    known: dict[int, str] = {}
    after: Position | None = None
    while True:

        def read(session: Session, after: Position | None = after) -> tuple[Any, Any]:
            rows, following = fetch_job_batch(
                session, job_filter=job_filter, order=order, columns=columns, after=after, size=size
            )
            new = {row.printer_id for row in rows} - known.keys()
            names = printer_names(session, new) if new else {}
            return (rows, names), following

        (rows, names), after = run(read)
        known.update(names)
        if rows:
            yield JobBatch(rows, known)
        if after is None:
            return
