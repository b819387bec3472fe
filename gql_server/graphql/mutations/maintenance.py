"""createMaintenanceTask, recordMaintenance, deleteMaintenanceTask."""

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from sqlalchemy.orm import Session

from gql_server.graphql.context import Info
from gql_server.graphql.mutations.outcome import attempt, input_id
from gql_server.graphql.permissions import write_mutation
from gql_server.graphql.types.maintenance import (
    MAINTENANCE_TASK,
    MaintenanceTask,
    maintenance_task,
)
from gql_server.graphql.types.user_error import UserError
from gql_server.services import maintenance
from gql_server.services.input_bounds import to_utc
from gql_server.services.maintenance import INTERVAL_MAX, Intervals, TaskStatus


def _interval(field: str, unit: str) -> str:
    return f"Due every this many {unit}: above 0, at most {INTERVAL_MAX[field]:.0f}."


@strawberry.input(description="At least one interval is required; the first used up makes it due.")
class CreateMaintenanceTaskInput:
    printer_id: strawberry.ID
    name: str = strawberry.field(description=f"At most {maintenance.NAME_MAX} characters.")
    every_print_hours: float | None = strawberry.field(
        default=None, description=_interval("everyPrintHours", "hours of printing")
    )
    every_filament_meters: float | None = strawberry.field(
        default=None, description=_interval("everyFilamentMeters", "metres of filament")
    )
    every_days: float | None = strawberry.field(
        default=None, description=_interval("everyDays", "days")
    )


@strawberry.input
class RecordMaintenanceInput:
    task_id: strawberry.ID
    done_at: datetime | None = strawberry.field(
        default=None,
        description="When it was done; now when omitted. Not in the future (IN_FUTURE). "
        "Without a zone: UTC. The newest doneAt of a task resets its odometers.",
    )
    note: str | None = strawberry.field(
        default=None, description=f"At most {maintenance.NOTE_MAX} characters."
    )


@strawberry.input
class DeleteMaintenanceTaskInput:
    id: strawberry.ID


@strawberry.type
class MaintenanceTaskPayload:
    task: MaintenanceTask | None
    user_errors: list[UserError]


@strawberry.type
class DeleteMaintenanceTaskPayload:
    deleted_task_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class MaintenanceMutations:
    @write_mutation()
    async def create_maintenance_task(
        self, info: Info, input: CreateMaintenanceTaskInput
    ) -> MaintenanceTaskPayload:
        return await _task_payload(lambda: _create(info, input))

    @write_mutation("Record that a task was done: its odometers start again from doneAt.")
    async def record_maintenance(
        self, info: Info, input: RecordMaintenanceInput
    ) -> MaintenanceTaskPayload:
        return await _task_payload(lambda: _record(info, input))

    @write_mutation("Delete a task and the record of when it was done.")
    async def delete_maintenance_task(
        self, info: Info, input: DeleteMaintenanceTaskInput
    ) -> DeleteMaintenanceTaskPayload:
        outcome = await attempt(lambda: _delete(info, input))
        deleted = None if outcome.user_errors else input.id
        return DeleteMaintenanceTaskPayload(
            deleted_task_id=deleted, user_errors=outcome.user_errors
        )


async def _task_payload(
    change: Callable[[], Awaitable[TaskStatus | None]],
) -> MaintenanceTaskPayload:
    """Run a change of one task; the payload holds the task as it now stands, or why not."""
    outcome = await attempt(change)
    task = outcome.value
    return MaintenanceTaskPayload(
        task=None if task is None else maintenance_task(task), user_errors=outcome.user_errors
    )


async def _create(info: Info, data: CreateMaintenanceTaskInput) -> TaskStatus | None:
    printer_id = input_id(data.printer_id, "Printer", field="printerId")
    intervals = Intervals(data.every_print_hours, data.every_filament_meters, data.every_days)
    now = info.context.now()

    def create(session: Session) -> TaskStatus | None:
        task = maintenance.create_task(
            session, printer_id=printer_id, name=data.name, intervals=intervals, now=now
        )
        return maintenance.measure_task(session, task.id, now=now)

    return await info.context.write(create)


async def _record(info: Info, data: RecordMaintenanceInput) -> TaskStatus | None:
    task_id = input_id(data.task_id, MAINTENANCE_TASK, field="taskId")
    done_at = to_utc(data.done_at, field="doneAt")
    now = info.context.now()

    def record(session: Session) -> TaskStatus | None:
        maintenance.record_maintenance(
            session, task_id=task_id, done_at=done_at, note=data.note, now=now
        )
        return maintenance.measure_task(session, task_id, now=now)

    return await info.context.write(record)


async def _delete(info: Info, data: DeleteMaintenanceTaskInput) -> None:
    task_id = input_id(data.id, MAINTENANCE_TASK)
    await info.context.write(lambda s: maintenance.delete_task(s, task_id))
