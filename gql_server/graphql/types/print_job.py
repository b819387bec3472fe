"""One print job from a printer's Moonraker history."""

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.inputs import job_order_name
from gql_server.graphql.loaders import JobsWithDetails
from gql_server.graphql.types.connection import Connection
from gql_server.graphql.types.enums import JobStatus, job_status
from gql_server.graphql.types.job_details import JobDetails, column, job_details_from_row
from gql_server.graphql.types.node import Node
from gql_server.services.job_queries import JobOrder, cursor_position

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


def print_job_from_row(row: Any, *, printer: Any, details: Any) -> PrintJob:
    """``row`` may lack the columns the query did not select; their fields stay None."""
    present = row._fields  # a Row raises (slowly) on a missing attribute: check first
    return PrintJob(
        database_id=row.id,
        job_id=row.job_id,
        user=row.user,
        filename=row.filename,
        status=job_status(row.status),
        start_time=column(row, present, "start_time"),  # type: ignore[arg-type]
        end_time=column(row, present, "end_time"),
        print_duration=row.print_duration,
        total_duration=row.total_duration,
        filament_used=row.filament_used,
        metadata=column(row, present, "job_metadata"),
        auxiliary_data=column(row, present, "auxiliary_data"),
        created_at=column(row, present, "created_at"),  # type: ignore[arg-type]
        updated_at=column(row, present, "updated_at"),  # type: ignore[arg-type]
        printer=printer,
        job_details=details,
    )


def job_connection(
    result: JobsWithDetails,
    order: JobOrder,
    *,
    counter: Callable[[], Awaitable[int]],
    printers: dict[int, Any],
) -> Connection[PrintJob]:
    nodes = []
    for row in result.page.items:
        detail_row = result.details.get(row.id)
        details = None if detail_row is None else job_details_from_row(detail_row)
        printer = printers.get(row.printer_id)
        nodes.append(print_job_from_row(row, printer=printer, details=details))
    return Connection(
        nodes=nodes,
        ordering=job_order_name(order),
        rows=result.page.items,
        position_of=functools.partial(cursor_position, order),
        has_next=result.page.has_next,
        has_previous=result.page.has_previous,
        counter=counter,
    )
