"""One print job from a printer's Moonraker history."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.ids import to_global_id
from gql_server.graphql.inputs import job_order_name
from gql_server.graphql.loaders import JobsWithDetails
from gql_server.graphql.types.connection import Connection
from gql_server.graphql.types.enums import JobStatus, job_status
from gql_server.graphql.types.job_details import JobDetails, job_details_from_row
from gql_server.graphql.types.node import Node
from gql_server.services.job_queries import JobOrder, cursor_position

if TYPE_CHECKING:
    from gql_server.graphql.types.printer import Printer

NOT_LOADED: Any = object()


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
    printer_id: strawberry.Private[int]
    known_printer: strawberry.Private[Any]
    known_details: strawberry.Private[Any]

    @strawberry.field
    def printer(
        self, info: strawberry.Info
    ) -> Annotated["Printer", strawberry.lazy("gql_server.graphql.types.printer")]:
        # Synchronous when the parent already holds the printer (jobs reached through a
        # printer or a prefetched page); a loader batch otherwise.
        if self.known_printer is not None:
            return self.known_printer  # type: ignore[no-any-return]
        return _printer_later(info, self.printer_id)  # type: ignore[return-value]

    @strawberry.field
    def job_details(self, info: strawberry.Info) -> JobDetails | None:
        if self.known_details is not NOT_LOADED:
            return self.known_details  # type: ignore[no-any-return]
        return _details_later(info, self.database_id)  # type: ignore[return-value]


async def _printer_later(info: strawberry.Info, printer_id: int) -> "Printer":
    from gql_server.graphql.types.printer import printer_from_row

    return printer_from_row(await info.context.loaders.printer.load(printer_id))


async def _details_later(info: strawberry.Info, job_id: int) -> JobDetails | None:
    row = await info.context.loaders.details.load(job_id)
    return None if row is None else job_details_from_row(row)


def print_job_from_row(row: Any, *, printer: Any = None, details: Any = NOT_LOADED) -> PrintJob:
    return PrintJob(
        id=strawberry.ID(to_global_id("PrintJob", row.id)),
        database_id=row.id,
        job_id=row.job_id,
        user=row.user,
        filename=row.filename,
        status=job_status(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        print_duration=row.print_duration,
        total_duration=row.total_duration,
        filament_used=row.filament_used,
        metadata=row.job_metadata,
        auxiliary_data=row.auxiliary_data,
        created_at=row.created_at,
        updated_at=row.updated_at,
        printer_id=row.printer_id,
        known_printer=printer,
        known_details=details,
    )


def job_connection(
    result: JobsWithDetails,
    order: JobOrder,
    *,
    with_details: bool,
    counter: Callable[[], Awaitable[int]],
    printers: dict[int, Any] | None = None,
) -> Connection[PrintJob]:
    nodes = []
    for row in result.page.items:
        details: Any = NOT_LOADED
        if with_details:
            detail_row = result.details.get(row.id)
            details = None if detail_row is None else job_details_from_row(detail_row)
        printer = None if printers is None else printers.get(row.printer_id)
        nodes.append(print_job_from_row(row, printer=printer, details=details))
    return Connection(
        nodes=nodes,
        ordering=job_order_name(order),
        positions=[cursor_position(order, row) for row in result.page.items],
        has_next=result.page.has_next,
        has_previous=result.page.has_previous,
        counter=counter,
    )
