"""Maintenance tasks with their odometers (services/maintenance.py)."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.errors import api_error
from gql_server.graphql.ids import to_global_id
from gql_server.graphql.inputs import LIST_BOUND, database_ids
from gql_server.graphql.pages import PageWindow, page_args
from gql_server.graphql.types.connection import Connection, page_connection
from gql_server.services import maintenance
from gql_server.services.errors import ServiceError
from gql_server.services.maintenance import TaskStatus

if TYPE_CHECKING:
    from gql_server.graphql.types.printer import Printer

MAINTENANCE_TASK = "MaintenanceTask"  # the type name in its global ids


@strawberry.type(
    description="What is left of each interval until the task is due; negative once "
    "overdue, null for an interval the task does not have."
)
class MaintenanceDueIn:
    print_hours: float | None
    filament_meters: float | None
    days: float | None


@strawberry.type(
    description="Something to do on a printer every so many print hours, filament metres "
    "or days, whichever comes first. The odometers count from the newest recordMaintenance "
    "(from the task's creation until then), over the printer's jobs that STARTED since: a "
    "job running when the maintenance was done counts for the cycle before. They are "
    "summed from the jobs, so they are exact after a backfill."
)
class MaintenanceTask:
    id: strawberry.ID = strawberry.field(description="Global id (recordMaintenance's taskId).")
    name: str
    every_print_hours: float | None
    every_filament_meters: float | None
    every_days: float | None
    print_hours: float = strawberry.field(description="Print time since, in hours.")
    filament_meters: float = strawberry.field(description="Filament used since, in metres.")
    days: float = strawberry.field(description="Days since (fractional).")
    last_done_at: datetime | None = strawberry.field(
        description="The newest doneAt recorded; null when never done."
    )
    created_at: datetime
    due_in: MaintenanceDueIn
    overdue: bool = strawberry.field(description="An interval is used up (overdueRatio >= 1).")
    overdue_ratio: float = strawberry.field(
        description="The largest odometer / interval: 0.5 is half-way, 1 or more is due; "
        "what maintenanceDue ranks by."
    )
    printer_id: strawberry.Private[int]

    @strawberry.field(description="The printer the task belongs to.")
    async def printer(
        self, info: Info
    ) -> Annotated["Printer", strawberry.lazy("gql_server.graphql.types.printer")] | None:
        from gql_server.graphql.types.printer import printer_from_row

        row = await info.context.loaders.printer.load(self.printer_id)
        return None if row is None else printer_from_row(row)


def maintenance_task(task: TaskStatus) -> MaintenanceTask:
    due = task.due_in
    return MaintenanceTask(
        id=strawberry.ID(to_global_id(MAINTENANCE_TASK, task.id)),
        name=task.name,
        every_print_hours=task.intervals.every_print_hours,
        every_filament_meters=task.intervals.every_filament_meters,
        every_days=task.intervals.every_days,
        print_hours=task.print_hours,
        filament_meters=task.filament_meters,
        days=task.days,
        last_done_at=task.last_done_at,
        created_at=task.created_at,
        due_in=MaintenanceDueIn(
            print_hours=due.print_hours, filament_meters=due.filament_meters, days=due.days
        ),
        overdue=task.overdue,
        overdue_ratio=task.overdue_ratio,
        printer_id=task.printer_id,
    )


async def resolve_maintenance(root: "Printer", info: Info) -> list[MaintenanceTask]:
    """Through the loader: every printer of a page is measured in one batch."""
    tasks = await info.context.loaders.maintenance.load(root.database_id)
    return [maintenance_task(task) for task in tasks]


async def resolve_maintenance_due(
    info: Info,
    window: PageWindow,
    printer_ids: Annotated[
        list[strawberry.ID] | None,
        strawberry.argument(description=f"Only these printers' tasks. {LIST_BOUND}"),
    ] = None,
    overdue_only: Annotated[
        bool, strawberry.argument(description="Only the tasks that are due.")
    ] = False,
) -> Connection[MaintenanceTask]:
    args = page_args(window, maintenance.DUE_ORDERING, maintenance.DUE_KEYS)
    ids = _printer_ids(printer_ids)
    now = info.context.now()
    page, total = await info.context.read(
        lambda s: maintenance.due_page(s, args, now=now, printer_ids=ids, overdue_only=overdue_only)
    )

    async def count() -> int:
        return total

    return page_connection(
        page,
        [maintenance_task(task) for task in page.items],
        ordering=maintenance.DUE_ORDERING,
        position_of=maintenance.due_position,
        counter=count,
    )


def _printer_ids(global_ids: list[strawberry.ID] | None) -> tuple[int, ...] | None:
    try:
        return database_ids(global_ids, "Printer", field="printerIds")
    except ServiceError as exc:
        raise api_error(exc) from None
