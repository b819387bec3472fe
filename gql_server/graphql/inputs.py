"""Input types for filters and orderings, and their translation to service arguments."""

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar

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
from gql_server.services.column_order import ColumnOrder, OrderField
from gql_server.services.errors import ServiceError
from gql_server.services.file_queries import FileFilter, FileOrder
from gql_server.services.input_bounds import (
    FILTER_TEXT_MAX,
    LIST_MAX,
    check_items,
    check_text,
    to_utc,
)
from gql_server.services.job_queries import JobFilter, JobOrder

S = TypeVar("S")
R = TypeVar("R")
OrderT = TypeVar("OrderT", bound=ColumnOrder[Any])

TEXT_BOUND = f"At most {FILTER_TEXT_MAX} characters."
LIST_BOUND = f"At most {LIST_MAX} items."
TIME_BOUND = "Without a zone: UTC. Must stay within years 1-9999 once moved to UTC."
# The same rule on SQLite and MariaDB (gql_server/db/folding.py).
IGNORES_CASE = "Ignores case (Unicode case folding, so ß matches SS); accents count."


def _bounded(to_service: Callable[[S], R]) -> Callable[[S], R]:
    """A filter's ``to_service``: a bound broken is this query's error, naming the field."""

    @functools.wraps(to_service)
    def bounded(self: S) -> R:
        try:
            return to_service(self)
        except ServiceError as exc:
            raise api_error(exc, field=f"filter.{exc.field}") from None

    return bounded


def _texts(values: Sequence[str] | None, field: str) -> tuple[str, ...] | None:
    checked = check_items(values, field=field)
    if checked is None:
        return None
    for value in checked:
        check_text(value, field=field)
    return tuple(checked)


def _direction_of(order: ColumnOrder[Any]) -> OrderDirection:
    return OrderDirection.DESC if order.descending else OrderDirection.ASC


class _OrderInput(Generic[OrderT]):
    """An ordering argument: ``field`` and ``direction`` as the services' ordering of
    that kind. The arguments' defaults are those of the services' ``default_order``."""

    default_order: OrderT
    field: OrderField
    direction: OrderDirection

    def to_service(self) -> OrderT:
        descending = self.direction is OrderDirection.DESC
        return replace(self.default_order, field=self.field, descending=descending)


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

    @_bounded
    def to_service(self) -> JobFilter:
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
class PrintJobOrder(_OrderInput[JobOrder]):
    default_order = JobOrder()
    field: PrintJobOrderField = default_order.field
    direction: OrderDirection = _direction_of(default_order)


@strawberry.input
class PrinterFilter:
    is_active: bool | None = None
    name_contains: str | None = strawberry.field(
        default=None, description=f"{IGNORES_CASE} {TEXT_BOUND}"
    )
    location: str | None = strawberry.field(
        default=None, description=f"{IGNORES_CASE} {TEXT_BOUND}"
    )

    @_bounded
    def to_service(self) -> printer_queries.PrinterFilter:
        return printer_queries.PrinterFilter(
            is_active=self.is_active,
            name_contains=check_text(self.name_contains, field="nameContains"),
            location=check_text(self.location, field="location"),
        )


@strawberry.input
class PrinterOrder(_OrderInput[printer_queries.PrinterOrder]):
    default_order = printer_queries.PrinterOrder()
    field: PrinterOrderFieldName = default_order.field
    direction: OrderDirection = _direction_of(default_order)


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

    @_bounded
    def to_service(self) -> FileFilter:
        return FileFilter(
            name_contains=check_text(self.name_contains, field="nameContains"),
            printer_ids=database_ids(self.printer_ids, "Printer", field="printerIds"),
            started_after=to_utc(self.started_after, field="startedAfter"),
            started_before=to_utc(self.started_before, field="startedBefore"),
        )


@strawberry.input
class PrintFileOrder(_OrderInput[FileOrder]):
    default_order = FileOrder()
    field: PrintFileOrderField = default_order.field
    direction: OrderDirection = _direction_of(default_order)
