"""What a job connection's query selects, so its loader reads only that.

Built from the lookahead once per connection field; part of the loader key, so
connections selecting the same fields share one query.
"""

from dataclasses import dataclass
from typing import Any

from gql_server.graphql.lookahead import node_field_names

# GraphQL field -> column read only on demand (see services.job_queries).
OPTIONAL_JOB_FIELDS = {
    "endTime": "end_time",
    "metadata": "job_metadata",
    "auxiliaryData": "auxiliary_data",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@dataclass(frozen=True, slots=True)
class JobSelection:
    job_columns: frozenset[str] | None  # None: every column
    with_details: bool
    detail_columns: frozenset[str] | None
    with_printer: bool


def job_selection(selections: Any) -> JobSelection:
    job_fields = node_field_names(selections)
    detail_fields = node_field_names(selections, "jobDetails")
    return JobSelection(
        job_columns=frozenset(
            OPTIONAL_JOB_FIELDS[f] for f in job_fields & OPTIONAL_JOB_FIELDS.keys()
        ),
        with_details="jobDetails" in job_fields,
        detail_columns=frozenset(_snake(f) for f in detail_fields),
        with_printer="printer" in job_fields,
    )


# Everything, for single objects fetched by id.
FULL_SELECTION = JobSelection(
    job_columns=None, with_details=True, detail_columns=None, with_printer=True
)
