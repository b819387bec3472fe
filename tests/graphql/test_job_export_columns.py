"""The export's columns and parameters follow the schema: a scalar field or a filter
added to printJobs later is a failing test here, not a column silently missing."""

from graphql import GraphQLInputObjectType, GraphQLObjectType, get_named_type, is_leaf_type

from gql_server.graphql.job_export import COLUMN_NAMES
from gql_server.graphql.job_export_options import PARAMETER_NAMES
from gql_server.schema import schema

DOCUMENTS = {"JSON"}  # documents, not cells
NOT_EXPORTED = {
    "jobDetails.id",  # the job's own id identifies the row
    "jobDetails.databaseId",
    "estimateError",  # derived from printDuration and jobDetails.estimatedTime, both columns
}


def _leaf_fields(type_name: str) -> list[str]:
    graphql_type = schema._schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return [
        name
        for name, field in graphql_type.fields.items()
        if is_leaf_type(named := get_named_type(field.type)) and named.name not in DOCUMENTS
    ]


def test_every_scalar_field_of_a_print_job_and_its_details_is_a_column() -> None:
    expected = [
        *_leaf_fields("PrintJob"),
        *(f"printer.{name}" for name in ("id", "name")),
        *(f"jobDetails.{name}" for name in _leaf_fields("JobDetails")),
    ]
    assert set(COLUMN_NAMES) == set(expected) - NOT_EXPORTED
    assert len(COLUMN_NAMES) == len(set(COLUMN_NAMES))


def test_every_field_of_the_filter_and_the_order_is_a_parameter() -> None:
    job_filter = schema._schema.type_map["PrintJobFilter"]
    assert isinstance(job_filter, GraphQLInputObjectType)
    assert set(PARAMETER_NAMES) == {*job_filter.fields, "orderBy", "direction"}
