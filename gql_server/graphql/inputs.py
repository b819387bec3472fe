"""Input types for filters and orderings, and their translation to service arguments."""

from datetime import UTC, datetime

import strawberry

from gql_server.graphql.ids import database_id
from gql_server.graphql.types.enums import (
    JobStatus,
    OrderDirection,
    PrinterOrderFieldName,
    PrintJobOrderField,
)
from gql_server.services import printer_queries
from gql_server.services.job_queries import JobFilter, JobOrder, JobOrderField
from gql_server.services.printer_queries import PrinterOrderField


def _utc(value: datetime | None) -> datetime | None:
    """A timestamp without a zone is taken as UTC, like every time in this API."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@strawberry.input(description="Every given condition must hold (AND); lists match any (OR).")
class PrintJobFilter:
    printer_ids: list[strawberry.ID] | None = None
    statuses: list[JobStatus] | None = None
    filename_contains: str | None = None
    user: str | None = None
    filament_types: list[str] | None = None
    slicer: str | None = strawberry.field(
        default=None, description="Matched against the `slicer` key of the job's metadata."
    )
    started_after: datetime | None = None
    started_before: datetime | None = None

    def to_service(self) -> JobFilter:
        return JobFilter(
            printer_ids=_ids(self.printer_ids, "Printer"),
            statuses=None if self.statuses is None else tuple(s.value for s in self.statuses),
            filename_contains=self.filename_contains,
            user=self.user,
            filament_types=None if self.filament_types is None else tuple(self.filament_types),
            slicer=self.slicer,
            started_after=_utc(self.started_after),
            started_before=_utc(self.started_before),
        )


def _ids(global_ids: list[strawberry.ID] | None, type_name: str) -> tuple[int, ...] | None:
    if global_ids is None:
        return None
    return tuple(database_id(global_id, type_name) for global_id in global_ids)


@strawberry.input
class PrintJobOrder:
    field: PrintJobOrderField = PrintJobOrderField.START_TIME
    direction: OrderDirection = OrderDirection.DESC

    def to_service(self) -> JobOrder:
        return JobOrder(
            field=JobOrderField(self.field.value),
            descending=self.direction is OrderDirection.DESC,
        )


@strawberry.input
class PrinterFilter:
    is_active: bool | None = None
    name_contains: str | None = None
    location: str | None = None

    def to_service(self) -> printer_queries.PrinterFilter:
        return printer_queries.PrinterFilter(
            is_active=self.is_active, name_contains=self.name_contains, location=self.location
        )


@strawberry.input
class PrinterOrder:
    field: PrinterOrderFieldName = PrinterOrderFieldName.NAME
    direction: OrderDirection = OrderDirection.ASC

    def to_service(self) -> printer_queries.PrinterOrder:
        return printer_queries.PrinterOrder(
            field=PrinterOrderField(self.field.value),
            descending=self.direction is OrderDirection.DESC,
        )


def job_order_name(order: JobOrder) -> str:
    return f"job:{order.field.value}:{'desc' if order.descending else 'asc'}"


def printer_order_name(order: printer_queries.PrinterOrder) -> str:
    return f"printer:{order.field.value}:{'desc' if order.descending else 'asc'}"
