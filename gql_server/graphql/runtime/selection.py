"""What a job connection's query selects, so its loader reads only that.

Built from the lookahead once per connection field; part of the loader key, so
connections selecting the same fields share one query.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphql.pyutils import Path
from strawberry.types.nodes import Selection

from gql_server.graphql.pages import ConnectionArgs
from gql_server.graphql.runtime.lookahead import field_names, merged_selections, node_field_names
from gql_server.graphql.types.columns import graphql_field_columns
from gql_server.graphql.types.job_details import JobDetails
from gql_server.graphql.types.print_job import PrintJob
from gql_server.services.job_queries import OPTIONAL_JOB_COLUMNS, JobColumns, JobFilter, JobOrder
from gql_server.services.pagination import PageArgs

if TYPE_CHECKING:  # context.py imports this module, through loaders.py
    from gql_server.graphql.context import Info

# GraphQL field -> the column it needs (types/columns.py), among those a job query reads
# on demand (services.job_queries). The key columns come with every row, and the id,
# printer and jobDetails fields need no other.
JOB_FIELD_COLUMNS = {
    field: column
    for field, column in graphql_field_columns(PrintJob).items()
    if column in OPTIONAL_JOB_COLUMNS
}
DETAIL_FIELD_COLUMNS = graphql_field_columns(JobDetails)

CURSOR_FIELDS = frozenset({"edges", "pageInfo"})


@dataclass(frozen=True, slots=True)
class JobSelection:
    columns: JobColumns
    with_printer: bool


def job_selection(selections: list[Selection], order: JobOrder) -> JobSelection:
    job_fields = node_field_names(selections)
    columns = {JOB_FIELD_COLUMNS[f] for f in job_fields & JOB_FIELD_COLUMNS.keys()}
    if field_names(selections) & CURSOR_FIELDS:
        columns |= {key.column.key for key in order.sort_keys()}  # what a cursor is made of
    detail_fields = node_field_names(selections, "jobDetails")
    return JobSelection(
        columns=JobColumns(
            job=frozenset(columns),
            details="jobDetails" in job_fields,
            detail=frozenset(
                DETAIL_FIELD_COLUMNS[f] for f in detail_fields & DETAIL_FIELD_COLUMNS.keys()
            ),
        ),
        with_printer="printer" in job_fields,
    )


@dataclass(frozen=True, slots=True)
class JobPageRequest:
    """A job connection's arguments, validated, and what its query selects."""

    job_filter: JobFilter
    order: JobOrder
    args: PageArgs
    selection: JobSelection


def job_page_request(
    info: "Info", arguments: ConnectionArgs[JobFilter, JobOrder]
) -> JobPageRequest:
    request = arguments.to_service()
    return JobPageRequest(
        job_filter=request.filter,
        order=request.order,
        args=request.args,
        selection=_cached_selection(info, request.order),
    )


def _cached_selection(info: "Info", order: JobOrder) -> JobSelection:
    """Each printer of a fleet page asks for its jobs with the same selection: it is
    read from the query (``info.selected_fields`` converts the whole subtree) once per
    request instead of once per printer (bench/fleet_query.py measures it)."""
    key = (response_position(info.path), order)
    cache = info.context.job_selections
    if key not in cache:
        cache[key] = job_selection(merged_selections(info), order)
    return cache[key]


def response_position(path: Path | None) -> tuple[str, ...]:
    """A field's response path without list indices, each key with its parent type.

    The items of one list share the merged selection at a position, and a field's
    subselection can differ between parent types only where the type differs.
    """
    keys: list[str] = []
    while path is not None:
        if isinstance(path.key, str):
            keys.append(f"{path.typename}.{path.key}")
        path = path.prev
    return tuple(reversed(keys))
