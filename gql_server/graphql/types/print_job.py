"""One print job from a printer's Moonraker history."""

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.inputs import job_order_name
from gql_server.graphql.types.connection import Connection
from gql_server.graphql.types.enums import JobStatus, job_status
from gql_server.graphql.types.job_details import JobDetails, job_details
from gql_server.graphql.types.node import Node
from gql_server.services.job_queries import DETAILS_PREFIX, JobOrder, cursor_position
from gql_server.services.pagination import Page

if TYPE_CHECKING:
    from gql_server.graphql.types.printer import Printer


@strawberry.type(description="One job of a printer's print history.")
class PrintJob(Node):
    job_id: str = strawberry.field(description="Moonraker's job id (reused after a reset).")
    user: str | None
    filename: str
    status: JobStatus
    start_time: datetime
    end_time: datetime | None
    print_duration: float | None = strawberry.field(description="Seconds.")
    total_duration: float | None = strawberry.field(description="Seconds.")
    filament_used: float | None = strawberry.field(description="Millimetres.")
    metadata: JSON | None
    auxiliary_data: JSON | None
    created_at: datetime
    updated_at: datetime
    printer: Annotated["Printer", strawberry.lazy("gql_server.graphql.types.printer")]
    job_details: JobDetails | None
    # Plain attributes, not resolvers: whoever builds a job hands over its printer and
    # details, fetched a whole page at a time, so the 1,000 jobs of a fleet page cost no
    # awaitable each (bench/fleet_query.py).


# Where a page's rows hold each field, worked out once per shape of row: reading a Row
# by name costs ~1 µs and Row._fields ~4 µs, and a fleet page has 1,000 rows. Reading
# by position, and Node.from_fields, took building a fleet page's objects from 31 ms
# to ~4 ms (bench/fleet_query.py).
_FIELD_OF_COLUMN = {"id": "database_id", "job_metadata": "metadata"}
_EMPTY_JOB = dict.fromkeys(
    name
    for name in PrintJob.__dataclass_fields__
    if name not in ("id", "database_id", "printer", "job_details")
)


@dataclass(frozen=True, slots=True)
class RowShape:
    job: tuple[tuple[str, int], ...]  # (PrintJob field, position)
    printer_id: int
    details_id: int | None  # None: the query did not join the details
    details: tuple[tuple[str, int], ...]  # (JobDetails field, position)


@functools.lru_cache(maxsize=128)
def row_shape(columns: tuple[str, ...]) -> RowShape:
    """Cached by column names: a query's shape depends only on what it selects."""
    job, details, details_id = [], [], None
    for position, column in enumerate(columns):
        if column.startswith(DETAILS_PREFIX):
            name = column.removeprefix(DETAILS_PREFIX)
            if name == "id":
                details_id = position
            else:
                details.append((name, position))
        elif column != "printer_id":
            job.append((_FIELD_OF_COLUMN.get(column, column), position))
    return RowShape(tuple(job), columns.index("printer_id"), details_id, tuple(details))


def print_jobs_from_rows(rows: Sequence[Any], printers: Mapping[int, Any]) -> list[PrintJob]:
    """Jobs from rows of one query (services.job_queries), which hold only the columns
    the query selected (the other fields stay None) and, when joined, the details."""
    if not rows:
        return []
    shape = row_shape(rows[0]._fields)
    return [_print_job(row, shape, printers.get(row[shape.printer_id])) for row in rows]


def _print_job(row: Any, shape: RowShape, printer: Any) -> PrintJob:
    values = {name: row[position] for name, position in shape.job}
    status = values.get("status")
    if status is not None:
        values["status"] = job_status(status)
    values["printer"] = printer
    values["job_details"] = None
    if shape.details_id is not None and row[shape.details_id] is not None:
        found = {name: row[position] for name, position in shape.details}
        values["job_details"] = job_details(row[shape.details_id], found)
    return PrintJob.from_fields(_EMPTY_JOB, values)


def job_connection(
    page: Page[Any],
    order: JobOrder,
    *,
    counter: Callable[[], Awaitable[int]],
    printers: Mapping[int, Any],
) -> Connection[PrintJob]:
    return Connection(
        nodes=print_jobs_from_rows(page.items, printers),
        ordering=job_order_name(order),
        rows=page.items,
        position_of=functools.partial(cursor_position, order),
        has_next=page.has_next,
        has_previous=page.has_previous,
        counter=counter,
    )
