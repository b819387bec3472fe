"""What a job connection's query selects, so its loader reads only that.

Built from the lookahead once per connection field; part of the loader key, so
connections selecting the same fields share one query.
"""

from dataclasses import dataclass
from typing import Any

from gql_server.graphql.inputs import PrintJobFilter, PrintJobOrder
from gql_server.graphql.lookahead import field_names, node_field_names
from gql_server.graphql.pages import page_args
from gql_server.services.job_queries import JobFilter, JobOrder
from gql_server.services.pagination import PageArgs

# GraphQL field -> column read only on demand (see services.job_queries).
OPTIONAL_JOB_FIELDS = {
    "startTime": "start_time",
    "endTime": "end_time",
    "metadata": "job_metadata",
    "auxiliaryData": "auxiliary_data",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}


CURSOR_FIELDS = frozenset({"edges", "pageInfo"})


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@dataclass(frozen=True, slots=True)
class JobSelection:
    job_columns: frozenset[str] | None  # None: every column
    with_details: bool
    detail_columns: frozenset[str] | None
    with_printer: bool


def job_selection(selections: Any, order: JobOrder) -> JobSelection:
    job_fields = node_field_names(selections)
    detail_fields = node_field_names(selections, "jobDetails")
    columns = {OPTIONAL_JOB_FIELDS[f] for f in job_fields & OPTIONAL_JOB_FIELDS.keys()}
    if field_names(selections) & CURSOR_FIELDS:
        columns |= {key.column.key for key in order.sort_keys()}  # what a cursor is made of
    return JobSelection(
        job_columns=frozenset(columns),
        with_details="jobDetails" in job_fields,
        detail_columns=frozenset(_snake(f) for f in detail_fields),
        with_printer="printer" in job_fields,
    )


# Everything, for single objects fetched by id.
FULL_SELECTION = JobSelection(
    job_columns=None, with_details=True, detail_columns=None, with_printer=True
)


@dataclass(frozen=True, slots=True)
class JobPageRequest:
    """A job connection's arguments, validated, and what its query selects."""

    job_filter: JobFilter
    order: JobOrder
    args: PageArgs
    selection: JobSelection


def job_page_request(
    info: Any,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    job_filter: PrintJobFilter | None,
    order_by: PrintJobOrder | None,
) -> JobPageRequest:
    order = order_by.to_service() if order_by else JobOrder()
    return JobPageRequest(
        job_filter=job_filter.to_service() if job_filter else JobFilter(),
        order=order,
        args=page_args(first, after, last, before, order),
        selection=job_selection(info.selected_fields[0].selections, order),
    )
