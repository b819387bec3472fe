"""Buckets of printStats."""

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.ids import to_global_id
from gql_server.graphql.types.enums import job_status
from gql_server.graphql.types.printer import Printer, printer_from_row
from gql_server.services.stats import StatsBucket as ServiceBucket
from gql_server.services.stats import StatsGroupBy


@strawberry.type(description="Aggregates over the jobs of one printer/status/filament/period.")
class StatsBucket:
    key: str | None = strawberry.field(
        description="What the bucket holds, in the form its filter takes: the printer's "
        "global id (PrintJobFilter.printerIds), the JobStatus name (statuses; UNKNOWN "
        "gathers every status the API does not name), the filament type (filamentTypes, "
        "which ignores case: types differing only in case share a bucket, shown in the "
        "first spelling by code point; null for jobs without details), or the period's "
        "first day (ISO date)."
    )
    job_count: int
    completed_count: int
    success_rate: float | None = strawberry.field(
        description="Completed / finished jobs (in-progress jobs excluded); null when none."
    )
    print_time: float = strawberry.field(description="Sum of print durations, seconds.")
    total_time: float = strawberry.field(description="Sum of total durations, seconds.")
    filament_used: float = strawberry.field(description="Millimetres.")
    printer_id: strawberry.Private[int | None]

    @strawberry.field(description="The printer, when grouped by printer.")
    async def printer(self, info: Info) -> Printer | None:
        if self.printer_id is None:
            return None
        row = await info.context.loaders.printer.load(self.printer_id)
        return None if row is None else printer_from_row(row)


def stats_bucket(bucket: ServiceBucket, group_by: StatsGroupBy) -> StatsBucket:
    return StatsBucket(
        key=_filter_key(bucket, group_by),
        job_count=bucket.job_count,
        completed_count=bucket.completed_count,
        success_rate=bucket.success_rate,
        print_time=bucket.print_time,
        total_time=bucket.total_time,
        filament_used=bucket.filament_used,
        printer_id=bucket.printer_id,
    )


def _filter_key(bucket: ServiceBucket, group_by: StatsGroupBy) -> str | None:
    """The key as a filter takes it back."""
    if bucket.printer_id is not None:
        return to_global_id("Printer", bucket.printer_id)
    if group_by is StatsGroupBy.STATUS and bucket.key is not None:
        return job_status(bucket.key).name
    return bucket.key
