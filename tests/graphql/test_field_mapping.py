"""Every field of an object type reads a column of its model, or is declared as not.

A field that maps to no column would read as null without an error; the table of
differences (gql_server/graphql/types/columns.py) and the guard below keep that from
happening quietly.
"""

from dataclasses import fields
from datetime import datetime

import pytest
import strawberry
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import get_object_definition

from gql_server.db.models import ApiKey
from gql_server.graphql.runtime.selection import DETAIL_FIELD_COLUMNS, JOB_FIELD_COLUMNS
from gql_server.graphql.schema import NODE_TYPES, build_schema
from gql_server.graphql.types import columns
from gql_server.graphql.types.columns import (
    FIELD_COLUMNS_TABLE,
    Column,
    NoColumn,
    TypeColumns,
    UnmappedFieldError,
    assert_every_field_mapped,
    field_columns,
    unmapped_fields,
)
from gql_server.graphql.types.node import Node
from gql_server.graphql.types.print_file import PrintFile
from gql_server.schema import schema
from gql_server.services.file_queries import FileRow

MAPPED = ["PrintJob", "PrintFile", "JobDetails", "Printer", "JobTotals", "ApiKey"]


@pytest.mark.parametrize("graphql_type", NODE_TYPES, ids=lambda t: t.__name__)
def test_every_field_of_a_type_reads_a_column_or_is_declared(graphql_type: type) -> None:
    assert unmapped_fields(graphql_type) == []


def test_the_schema_s_object_types_are_the_mapped_ones() -> None:
    assert sorted(t.__name__ for t in NODE_TYPES) == sorted(MAPPED)
    assert sorted(FIELD_COLUMNS_TABLE) == sorted(MAPPED)


@pytest.mark.parametrize("type_name", MAPPED)
def test_each_graphql_field_of_the_built_schema_is_covered(type_name: str) -> None:
    """Checked against the schema as served, so that a field named differently in
    GraphQL (an explicit name, another naming rule) cannot slip past."""
    graphql_type = next(t for t in NODE_TYPES if t.__name__ == type_name)
    served = set(schema._schema.type_map[type_name].fields)
    columns = field_columns(graphql_type)
    differences = FIELD_COLUMNS_TABLE[type_name].differences
    not_columns = {name for name, source in differences.items() if isinstance(source, NoColumn)}
    python_names = set(columns) | not_columns
    graphql_names = {strawberry_name(graphql_type, name) for name in python_names}
    assert served == graphql_names


def strawberry_name(graphql_type: type, python_name: str) -> str:
    definition = get_object_definition(graphql_type, strict=True)
    field = next(f for f in definition.fields if f.python_name == python_name)
    return NameConverter().from_field(field)


def test_a_job_query_can_select_the_column_of_every_print_job_field() -> None:
    assert JOB_FIELD_COLUMNS["metadata"] == "job_metadata"
    assert set(JOB_FIELD_COLUMNS) == {
        "jobId", "user", "filename", "status", "startTime", "endTime", "printDuration",
        "totalDuration", "filamentUsed", "metadata", "auxiliaryData", "createdAt", "updatedAt",
    }  # fmt: skip
    assert DETAIL_FIELD_COLUMNS["filamentType"] == "filament_type"


def test_every_column_a_print_file_field_reads_is_a_file_row_field() -> None:
    """PrintFile is built from services/file_queries.py's FileRow, not from the model."""
    read = set(field_columns(PrintFile).values())
    assert read <= {f.name for f in fields(FileRow)}
    assert field_columns(PrintFile)["prints"] == "job_count"


# The guard must be able to fail: a type with a field its model has no column for.


@strawberry.type
class Gadget(Node):
    name: str
    colour: str | None  # no column
    created_at: datetime


@strawberry.type
class Widget(Node):
    name: str


def _with(type_name: str, table: TypeColumns) -> dict[str, TypeColumns]:
    return {**FIELD_COLUMNS_TABLE, type_name: table}


def test_the_guard_reports_a_field_that_reads_no_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = TypeColumns(ApiKey, {"database_id": Column("id"), "id": NoColumn("resolver")})
    monkeypatch.setattr(columns, "FIELD_COLUMNS_TABLE", _with("Gadget", table))
    assert unmapped_fields(Gadget) == ["Gadget.colour: no column ApiKey.colour"]
    with pytest.raises(UnmappedFieldError, match=r"^Gadget\.colour: no column ApiKey\.colour$"):
        assert_every_field_mapped((Gadget,))


def test_the_guard_reports_a_type_missing_from_the_table() -> None:
    assert unmapped_fields(Widget) == ["Widget: not in FIELD_COLUMNS_TABLE"]


def test_the_guard_reports_a_stale_entry_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    table = TypeColumns(
        ApiKey,
        {
            "database_id": Column("id"),
            "id": NoColumn("resolver"),
            "gone": NoColumn("a field removed since"),
            "name": Column("name"),
        },
    )
    monkeypatch.setattr(columns, "FIELD_COLUMNS_TABLE", _with("Widget", table))
    assert unmapped_fields(Widget) == [
        "Widget.gone: in FIELD_COLUMNS_TABLE, not a field of the type",
        "Widget.name: listed with its own name",
    ]


def test_the_schema_refuses_to_build_with_an_unmapped_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The start-up check: build_schema runs the guard over every object type."""
    printer = FIELD_COLUMNS_TABLE["Printer"]
    differences = {k: v for k, v in printer.differences.items() if k != "has_moonraker_api_key"}
    table = TypeColumns(printer.model, differences)
    monkeypatch.setattr(columns, "FIELD_COLUMNS_TABLE", _with("Printer", table))
    with pytest.raises(UnmappedFieldError, match=r"Printer\.hasMoonrakerApiKey: no column"):
        build_schema()
