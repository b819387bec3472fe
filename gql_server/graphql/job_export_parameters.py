"""``printJobs``' filter and order from flat text parameters (job_export_options.py):
the export's query string (``?statuses=COMPLETED&orderBy=END_TIME``) and
``gql-server export``'s options.

The values go through ``PrintJobFilter`` and ``PrintJobOrder``'s own ``to_service``, so
every bound and error code is the query's.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateTimeDefinition

from gql_server.graphql.errors import ApiError
from gql_server.graphql.inputs import PrintJobFilter, PrintJobOrder
from gql_server.graphql.job_export_options import PARAMETERS
from gql_server.graphql.types.enums import (
    FailureReason,
    JobStatus,
    OrderDirection,
    PrintJobOrderField,
)
from gql_server.services.errors import ServiceError
from gql_server.services.input_bounds import LIST_MAX, check_items
from gql_server.services.job_queries import JobFilter, JobOrder

E = TypeVar("E", bound=Enum)

BAD_PARAMETER = "BAD_PARAMETER"
UNKNOWN_PARAMETER = "UNKNOWN_PARAMETER"
REPEATED_PARAMETER = "REPEATED_PARAMETER"


class ExportParameterError(Exception):
    """A parameter the export refuses; ``code`` is stable, ``parameter`` names it."""

    def __init__(self, message: str, code: str, parameter: str | None) -> None:
        super().__init__(message)
        self.message, self.code, self.parameter = message, code, parameter


def _names(enum: type[Enum]) -> str:
    return ", ".join(member.name for member in enum)


_BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}


def _bad(message: str, parameter: str) -> ExportParameterError:
    return ExportParameterError(message, BAD_PARAMETER, parameter)


def _member(enum: type[E], text: str, parameter: str) -> E:
    """By its GraphQL name, as a query writes it."""
    try:
        return enum[text]
    except KeyError:
        raise _bad(f"{parameter}: {text!r} is not one of {_names(enum)}", parameter) from None


def _time(text: str, parameter: str) -> datetime:
    """Parsed as GraphQL's DateTime scalar parses a variable."""
    try:
        parsed: datetime = DateTimeDefinition.parse_value(text)  # type: ignore[misc]
    except StrawberryInputCoercionError:
        raise _bad(f"{parameter}: {text!r} is not an ISO 8601 date and time", parameter) from None
    return parsed


def _checked(values: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]]:
    """Known parameters only, each given once unless it is a list; lists bounded
    before any item is parsed."""
    for name, given in values.items():
        parameter = _BY_NAME.get(name)
        if parameter is None:
            known = ", ".join(_BY_NAME)
            raise ExportParameterError(
                f"unknown parameter {name!r}; the parameters are {known}", UNKNOWN_PARAMETER, name
            )
        if not parameter.repeatable and len(given) > 1:
            raise ExportParameterError(
                f"{name} is given {len(given)} times; give it once", REPEATED_PARAMETER, name
            )
    try:
        for name, given in values.items():
            check_items(given, field=name, maximum=LIST_MAX)
    except ServiceError as exc:
        raise ExportParameterError(exc.message, exc.code, exc.field) from None
    return dict(values)


def _statuses(names: Sequence[str] | None) -> list[JobStatus] | None:
    return None if names is None else [_member(JobStatus, name, "statuses") for name in names]


def _reasons(names: Sequence[str] | None) -> list[FailureReason] | None:
    if names is None:
        return None
    return [_member(FailureReason, name, "failureReasons") for name in names]


def _one(values: Mapping[str, Sequence[str]], name: str) -> str | None:
    given = values.get(name)
    return given[0] if given else None


def _parsed(
    values: Mapping[str, Sequence[str]], name: str, parse: Callable[[str, str], Any]
) -> Any:
    text = _one(values, name)
    return None if text is None else parse(text, name)


def _many(values: Mapping[str, Sequence[str]], name: str) -> list[str] | None:
    given = values.get(name)
    return None if given is None else list(given)


def parse_export_parameters(values: Mapping[str, Sequence[str]]) -> tuple[JobFilter, JobOrder]:
    """Parameter name -> its values (in the order given) into the services' filter and
    order; an ExportParameterError names the first parameter refused."""
    values = _checked(values)
    printer_ids, statuses = _many(values, "printerIds"), _many(values, "statuses")
    graphql_filter = PrintJobFilter(
        printer_ids=None if printer_ids is None else [strawberry.ID(i) for i in printer_ids],
        statuses=_statuses(statuses),
        filename_contains=_one(values, "filenameContains"),
        user=_one(values, "user"),
        filament_types=_many(values, "filamentTypes"),
        slicer=_one(values, "slicer"),
        failure_reasons=_reasons(_many(values, "failureReasons")),
        started_after=_parsed(values, "startedAfter", _time),
        started_before=_parsed(values, "startedBefore", _time),
    )
    order: dict[str, Any] = {}  # what is not given keeps PrintJobOrder's default
    if (field := _one(values, "orderBy")) is not None:
        order["field"] = _member(PrintJobOrderField, field, "orderBy")
    if (direction := _one(values, "direction")) is not None:
        order["direction"] = _member(OrderDirection, direction, "direction")
    try:
        return graphql_filter.to_service(), PrintJobOrder(**order).to_service()
    except ApiError as exc:
        raise _refused(exc) from None


def _refused(exc: ApiError) -> ExportParameterError:
    """A bound's error names its filter field; a bad id (the only error without a
    field) is one of the printer ids."""
    extensions = exc.extensions or {}
    field = str(extensions.get("field", "")).removeprefix("filter.") or "printerIds"
    return ExportParameterError(exc.message, str(extensions.get("code")), field)
