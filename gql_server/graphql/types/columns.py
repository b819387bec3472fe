"""Which column each field of the object types reads: the one table of differences.

A field reads the model attribute of its own name (``PrintJob.filename`` is the column
``print_jobs.filename``). The table below lists only where that is not so: a rename
(``metadata`` is the attribute ``job_metadata``, ``databaseId`` is ``id``), or no single
column at all (a resolver, a related object, a value built from several columns).

What needs the mapping is derived from the model and the Strawberry type through
``field_columns``: the columns a job query selects (runtime/selection.py), the objects
built from rows (runtime/row_shapes.py, the ``*_from_row`` functions). A field missing
from both the model and this table would read as null without an error; the schema
refuses to build instead (``unmapped_fields``, tests/graphql/test_field_mapping.py).

This module imports no type, so that every type module can use it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import get_object_definition

from gql_server.db import models


@dataclass(frozen=True, slots=True)
class Column:
    """The field reads the model attribute ``attribute`` (a name other than its own)."""

    attribute: str


@dataclass(frozen=True, slots=True)
class NoColumn:
    """The field reads no single column; ``source`` says where its value comes from."""

    source: str


@dataclass(frozen=True, slots=True)
class Joined:
    """The field reads a column of a row joined to the type's own, which the type's
    queries select under ``label`` (services/job_queries.py; the file rollups in
    services/file_queries.py, named as ``FileRow``); ``source`` says which."""

    label: str
    source: str


@dataclass(frozen=True, slots=True)
class TypeColumns:
    model: type[models.Base]
    differences: Mapping[str, "Column | NoColumn | Joined"]  # by the field's Python name


_NODE: dict[str, Column | NoColumn] = {
    "database_id": Column("id"),
    "id": NoColumn("resolver: the global id, from database_id"),
}

# By GraphQL type name.
FIELD_COLUMNS_TABLE: Mapping[str, TypeColumns] = {
    "PrintJob": TypeColumns(
        models.PrintJob,
        {
            **_NODE,
            "metadata": Joined("job_metadata", "metadata_documents, by print_jobs.metadata_id"),
            "auxiliary_data": Joined("auxiliary_data", "job_documents, by print_job_id"),
            "printer": NoColumn("the printers row, read with the page or by the loader"),
            "job_details": NoColumn("the job_details row, joined to the page's query"),
            "annotation": NoColumn("resolver: the job_annotations row, by the loader"),
            "file": NoColumn("resolver: the print_files row and its print_file_totals"),
            "estimate_error": NoColumn("resolver: print_duration and job_details.estimated_time"),
            "cost": NoColumn("resolver: the job_costs row, by the job_cost loader"),
        },
    ),
    "PrintFile": TypeColumns(
        models.PrintFile,
        {
            **_NODE,
            # A file's figures come from its rollup row, or are summed under a filter.
            "database_id": Joined("file_id", "print_files.id, named as the rollups name it"),
            "prints": Joined("job_count", "print_file_totals.job_count"),
            "completed": Joined("completed_count", "print_file_totals.completed_count"),
            "success_rate": Joined("success_rate", "print_file_totals.success_rate"),
            "average_print_duration": NoColumn("completed_print_time / completed_count"),
            "filament_used": Joined("filament_used", "print_file_totals.filament_used"),
            "last_printed_at": Joined("last_start", "print_file_totals.last_start"),
            "printers": NoColumn("resolver: print_file_printers"),
            "print_jobs": NoColumn("resolver: a page of print_jobs rows"),
        },
    ),
    "JobDetails": TypeColumns(
        models.JobDetails,
        {
            **_NODE,
            "raw_metadata": Joined(
                "raw_metadata", "metadata_documents, by job_details.raw_metadata_id"
            ),
        },
    ),
    "Printer": TypeColumns(
        models.Printer,
        {
            **_NODE,
            "has_moonraker_api_key": NoColumn("whether moonraker_api_key is set (write-only)"),
            "last_sync_error": NoColumn("last_sync_error_code and last_sync_error_message"),
            "job_totals": NoColumn("resolver: the job_totals row"),
            "print_jobs": NoColumn("resolver: a page of print_jobs rows"),
            "live_status": NoColumn("resolver: live mode's state, held in memory"),
            "maintenance": NoColumn("resolver: its maintenance tasks, measured by the loader"),
            "hourly_cost": NoColumn("resolver: printer_hourly_rates, by the hourly_cost loader"),
        },
    ),
    "JobTotals": TypeColumns(
        models.JobTotals,
        {
            **_NODE,
            "moonraker": NoColumn("the moonraker_* columns"),
            "moonraker_difference": NoColumn("resolver: the moonraker_* and finished_* columns"),
        },
    ),
    "ApiKey": TypeColumns(
        models.ApiKey,
        {**_NODE, "scopes": NoColumn("the scopes column, parsed into a list")},
    ),
}

_NAMES = NameConverter()  # Strawberry's default naming, as the schema uses it


def _definition_fields(graphql_type: type) -> list[tuple[str, str]]:
    """(Python name, GraphQL name) of each GraphQL field of a Strawberry type."""
    fields = get_object_definition(graphql_type, strict=True).fields
    return [(field.python_name, _NAMES.from_field(field)) for field in fields]


def type_name(graphql_type: type) -> str:
    return get_object_definition(graphql_type, strict=True).name


def _model_attributes(model: type[models.Base]) -> frozenset[str]:
    return frozenset(inspect(model).column_attrs.keys())


def field_columns(graphql_type: type) -> dict[str, str]:
    """Python field name -> model attribute, for every field that reads one column."""
    table = FIELD_COLUMNS_TABLE[type_name(graphql_type)]
    attributes = _model_attributes(table.model)
    found = {}
    for python_name, _ in _definition_fields(graphql_type):
        source = table.differences.get(python_name, Column(python_name))
        if isinstance(source, Column) and source.attribute in attributes:
            found[python_name] = source.attribute
        elif isinstance(source, Joined):
            found[python_name] = source.label
    return found


def row_values(row: Any, columns: Mapping[str, str]) -> dict[str, Any]:
    """Field -> value of a row (a model or a Core row) for ``columns`` (``field_columns``)."""
    return {field: getattr(row, column) for field, column in columns.items()}


def graphql_field_columns(graphql_type: type) -> dict[str, str]:
    """GraphQL field name -> model attribute, for every field that reads one column."""
    columns = field_columns(graphql_type)
    return {
        graphql: columns[python]
        for python, graphql in _definition_fields(graphql_type)
        if python in columns
    }


def unmapped_fields(graphql_type: type) -> list[str]:
    """``Type.field`` for each GraphQL field that reads no column of the type's model
    and is not declared as reading none; also each entry of the table naming a field
    the type lacks or an attribute the model lacks. Empty when all is well."""
    name = type_name(graphql_type)
    table = FIELD_COLUMNS_TABLE.get(name)
    if table is None:
        return [f"{name}: not in FIELD_COLUMNS_TABLE"]
    attributes = _model_attributes(table.model)
    python_names = {python for python, _ in _definition_fields(graphql_type)}
    problems = []
    for python, graphql in _definition_fields(graphql_type):
        source = table.differences.get(python, Column(python))
        if isinstance(source, Column) and source.attribute not in attributes:
            model = table.model.__name__
            problems.append(f"{name}.{graphql}: no column {model}.{source.attribute}")
    for python, source in table.differences.items():
        if python not in python_names:
            problems.append(f"{name}.{python}: in FIELD_COLUMNS_TABLE, not a field of the type")
        elif isinstance(source, Column) and source.attribute == python:
            problems.append(f"{name}.{python}: listed with its own name")
    return problems


class UnmappedFieldError(TypeError):
    """A field of an object type reads no column and is not declared as reading none:
    refused at start-up, instead of answering null."""


def assert_every_field_mapped(graphql_types: tuple[type, ...]) -> None:
    problems = [problem for t in graphql_types for problem in unmapped_fields(t)]
    if problems:
        raise UnmappedFieldError("; ".join(problems))
