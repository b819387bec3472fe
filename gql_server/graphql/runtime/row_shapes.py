"""Print jobs and their details built from the rows of one query, by position.

A fleet page has 1,000 rows. Reading a Row by name, or its ``_fields`` per row, costs
more than building the object; so where a page's rows hold each field is worked out
once per shape of row (the columns a query selected), and each object is built without
the generated ``__init__`` (``from_fields``). bench/fleet_query.py measures it.
"""

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gql_server.graphql.types.columns import field_columns
from gql_server.graphql.types.enums import job_status
from gql_server.graphql.types.job_details import JobDetails
from gql_server.graphql.types.print_job import PrintJob
from gql_server.services.job_queries import DETAILS_PREFIX

T = TypeVar("T")

# Model attribute -> field, for the fields that read one column (types/columns.py).
_JOB_FIELD_OF_COLUMN = {column: field for field, column in field_columns(PrintJob).items()}
_DETAILS_FIELD_OF_COLUMN = {column: field for field, column in field_columns(JobDetails).items()}
# Every data field, None until a row provides it; the id comes with every row.
_EMPTY_JOB = {field: None for field in field_columns(PrintJob) if field != "database_id"}
_EMPTY_DETAILS = {field: None for field in field_columns(JobDetails) if field != "database_id"}


def from_fields(cls: type[T], empty: dict[str, Any], fields: dict[str, Any]) -> T:
    """An instance of a Strawberry type from ``empty`` (every data field, None)
    updated with ``fields``: the same object as its ``__init__`` builds, every field
    set, without keyword arguments per field."""
    instance = object.__new__(cls)
    instance.__dict__.update(empty)
    instance.__dict__.update(fields)
    return instance


@dataclass(frozen=True, slots=True)
class RowShape:
    job: tuple[tuple[str, int], ...]  # (PrintJob field, position)
    printer_id: int
    details_id: int | None  # None: the query did not join the details
    details: tuple[tuple[str, int], ...]  # (JobDetails field, position)


@functools.lru_cache(maxsize=128)
def row_shape(columns: tuple[str, ...]) -> RowShape:
    """Cached by column names: a query's shape depends only on what it selects. Columns
    no field reads (the details' print_job_id, say) are left out."""
    job, details, details_id = [], [], None
    for position, column in enumerate(columns):
        if column.startswith(DETAILS_PREFIX):
            name = column.removeprefix(DETAILS_PREFIX)
            if name == "id":
                details_id = position
            elif name in _DETAILS_FIELD_OF_COLUMN:
                details.append((_DETAILS_FIELD_OF_COLUMN[name], position))
        elif column in _JOB_FIELD_OF_COLUMN:
            job.append((_JOB_FIELD_OF_COLUMN[column], position))
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
        values["job_details"] = _job_details(row[shape.details_id], found)
    return from_fields(PrintJob, _EMPTY_JOB, values)


def _job_details(database_id: int, values: dict[str, Any]) -> JobDetails:
    """``values`` (taken over) holds the fields a query read; the others stay None."""
    values["database_id"] = database_id
    return from_fields(JobDetails, _EMPTY_DETAILS, values)


def job_details_from_row(row: Any) -> JobDetails:
    """From a row of job_details' own columns (its id and print_job_id included)."""
    values = row._mapping
    found = {field: values[column] for column, field in _DETAILS_FIELD_OF_COLUMN.items()}
    return from_fields(JobDetails, _EMPTY_DETAILS, found)
