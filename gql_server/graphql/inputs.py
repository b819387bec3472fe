"""Input types for filters and orderings, and their translation to service arguments."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import strawberry

from gql_server.graphql.errors import api_error
from gql_server.graphql.ids import database_id
from gql_server.graphql.types.enums import (
    FailureReason,
    JobStatus,
    OrderDirection,
    PrinterOrderFieldName,
    PrintFileOrderField,
    PrintJobOrderField,
)
from gql_server.services import printer_queries
from gql_server.services.errors import ServiceError
from gql_server.services.file_queries import FileFilter, FileOrder
from gql_server.services.input_bounds import (
    FILTER_TEXT_MAX,
    LIST_MAX,
    check_items,
    check_text,
    to_utc,
)
from gql_server.services.job_queries import JobFilter, JobOrder, JobOrderField
from gql_server.services.printer_queries import PrinterOrderField

R = TypeVar("R")

TEXT_BOUND = f"At most {FILTER_TEXT_MAX} characters."
LIST_BOUND = f"At most {LIST_MAX} items."
TIME_BOUND = "Without a zone: UTC. Must stay within years 1-9999 once moved to UTC."
# The same rule on SQLite and MariaDB (gql_server/db/folding.py).
IGNORES_CASE = "Ignores case (Unicode case folding, so ß matches SS); accents count."


def _bounded(build: Callable[[], R]) -> R:
    """A filter's service form; a bound broken is this query's error, naming the field."""
    try:
        return build()
    except ServiceError as exc:
        raise api_error(exc, field=f"filter.{exc.field}") from None


def _texts(values: Sequence[str] | None, field: str) -> tuple[str, ...] | None:
    checked = check_items(values, field=field)
    if checked is None:
        return None
    for value in checked:
        check_text(value, field=field)
    return tuple(checked)


@strawberry.input(description="Every given condition must hold (AND); lists match any (OR).")
class PrintJobFilter:
    printer_ids: list[strawberry.ID] | None = strawberry.field(default=None, description=LIST_BOUND)
    statuses: list[JobStatus] | None = strawberry.field(default=None, description=LIST_BOUND)
    filename_contains: str | None = strawberry.field(
        default=None, description=f"{IGNORES_CASE} {TEXT_BOUND}"
    )
    user: str | None = strawberry.field(default=None, description=f"{IGNORES_CASE} {TEXT_BOUND}")
    filament_types: list[str] | None = strawberry.field(
        default=None, description=f"{IGNORES_CASE} {LIST_BOUND} {TEXT_BOUND[:-1]} each."
    )
    slicer: str | None = strawberry.field(
        default=None,
        description="Matched against the `slicer` key of the job's metadata. "
        f"{IGNORES_CASE} {TEXT_BOUND}",
    )
    started_after: datetime | None = strawberry.field(default=None, description=TIME_BOUND)
    started_before: datetime | None = strawberry.field(default=None, description=TIME_BOUND)
    failure_reasons: list[FailureReason] | None = strawberry.field(
        default=None, description=f"Jobs annotated with one of these reasons. {LIST_BOUND}"
    )

    def to_service(self) -> JobFilter:
        return _bounded(self._to_service)

    def _to_service(self) -> JobFilter:
        statuses = check_items(self.statuses, field="statuses")
        return JobFilter(
            printer_ids=database_ids(self.printer_ids, "Printer", field="printerIds"),
            statuses=None if statuses is None else tuple(s.value for s in statuses),
            filename_contains=check_text(self.filename_contains, field="filenameContains"),
            user=check_text(self.user, field="user"),
            filament_types=_texts(self.filament_types, "filamentTypes"),
            slicer=check_text(self.slicer, field="slicer"),
            started_after=to_utc(self.started_after, field="startedAfter"),
            started_before=to_utc(self.started_before, field="startedBefore"),
            failure_reasons=_failure_reasons(self.failure_reasons),
        )


def _failure_reasons(reasons: Sequence[FailureReason] | None) -> tuple[str, ...] | None:
    checked = check_items(reasons, field="failureReasons")
    return None if checked is None else tuple(reason.value for reason in checked)


def database_ids(
    global_ids: Sequence[strawberry.ID] | None, type_name: str, *, field: str
) -> tuple[int, ...] | None:
    """Counted before any is decoded: a long list is refused without work."""
    checked = check_items(global_ids, field=field)
    if checked is None:
        return None
    return tuple(database_id(global_id, type_name) for global_id in checked)


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
    name_contains: str | None = strawberry.field(
        default=None, description=f"{IGNORES_CASE} {TEXT_BOUND}"
    )
    location: str | None = strawberry.field(
        default=None, description=f"{IGNORES_CASE} {TEXT_BOUND}"
    )

    def to_service(self) -> printer_queries.PrinterFilter:
        return _bounded(
            lambda: printer_queries.PrinterFilter(
                is_active=self.is_active,
                name_contains=check_text(self.name_contains, field="nameContains"),
                location=check_text(self.location, field="location"),
            )
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


@strawberry.input(description="Every given condition must hold (AND); lists match any (OR).")
class PrintFileFilter:
    name_contains: str | None = strawberry.field(
        default=None, description=f"{IGNORES_CASE} {TEXT_BOUND}"
    )
    printer_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"Files printed on these printers, with figures over their jobs only. "
        f"{LIST_BOUND}",
    )
    started_after: datetime | None = strawberry.field(
        default=None,
        description="Figures over the jobs started after this instant (summed from the "
        f"jobs, not the rollups: slower on a long range). {TIME_BOUND}",
    )
    started_before: datetime | None = strawberry.field(
        default=None, description=f"As startedAfter, before this instant. {TIME_BOUND}"
    )

    def to_service(self) -> FileFilter:
        return _bounded(self._to_service)

    def _to_service(self) -> FileFilter:
        return FileFilter(
            name_contains=check_text(self.name_contains, field="nameContains"),
            printer_ids=database_ids(self.printer_ids, "Printer", field="printerIds"),
            started_after=to_utc(self.started_after, field="startedAfter"),
            started_before=to_utc(self.started_before, field="startedBefore"),
        )


@strawberry.input
class PrintFileOrder:
    field: PrintFileOrderField = PrintFileOrderField.PRINTS
    direction: OrderDirection = OrderDirection.DESC

    def to_service(self) -> FileOrder:
        return FileOrder(field=self.field, descending=self.direction is OrderDirection.DESC)
