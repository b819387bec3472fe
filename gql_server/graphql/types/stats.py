"""Buckets of printStats."""

from dataclasses import dataclass, fields
from typing import Any

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.ids import to_global_id
from gql_server.graphql.types.cost import NOT_READ, CostTotals, cost_totals
from gql_server.graphql.types.enums import FailureReason, job_status
from gql_server.graphql.types.printer import Printer, printer_from_row
from gql_server.services.estimates import NO_ESTIMATES, EstimateErrors
from gql_server.services.stats import CostSum, StatsGroupBy, cost_key
from gql_server.services.stats import StatsBucket as ServiceBucket


@strawberry.type(
    description="How far slicer estimates were off, over a bucket's jobs that have an "
    "estimate error (PrintJob.estimateError): nearest-rank percentiles of its absolute "
    "value (0.1: off by 10 %, either way)."
)
class EstimateError:
    median: float | None = strawberry.field(description="Null when count is 0.")
    p90: float | None = strawberry.field(description="90th percentile; null when count is 0.")
    count: int = strawberry.field(description="Jobs with an estimate error.")


@strawberry.type(description="Aggregates over the jobs of one printer/status/filament/period.")
class StatsBucket:
    key: str | None = strawberry.field(
        description="What the bucket holds, in the form its filter takes: the printer's "
        "global id (PrintJobFilter.printerIds), the JobStatus name (statuses; UNKNOWN "
        "gathers every status the API does not name), the filament type (filamentTypes, "
        "which ignores case: types differing only in case share a bucket, shown in the "
        "first spelling by code point; null for jobs without details), the period's "
        "first day (ISO date), the slicer as the slicer filter matches it (case-folded; "
        "null for jobs whose metadata names none), or the FailureReason name "
        "(failureReasons; null for jobs without one)."
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
    estimate_errors: strawberry.Private[EstimateErrors | None]

    @strawberry.field(
        description="Estimate against actual print time of the bucket's completed jobs "
        "(summed from the jobs, not the rollups)."
    )
    def estimate_error(self) -> EstimateError:
        errors = self.estimate_errors or NO_ESTIMATES
        return EstimateError(median=errors.median, p90=errors.p90, count=errors.count)

    # A plain attribute, read on the fast path: a resolver per bucket cost more than the
    # sums' query over a year of days. printStats reads the sums whenever a query
    # selects ``cost``; unselected, the field holds NOT_READ and is never shown.
    cost: CostTotals = strawberry.field(
        default_factory=lambda: NOT_READ,
        description="The jobs' costs summed (PrintJob.cost), in the farm's currency; read "
        "in one more query for all the buckets, only when selected.",
    )

    @strawberry.field(description="The printer, when grouped by printer.")
    async def printer(self, info: Info) -> Printer | None:
        if self.printer_id is None:
            return None
        row = await info.context.loaders.printer.load(self.printer_id)
        return None if row is None else printer_from_row(row)


# What the service's bucket holds under the same name: all the constructor takes but the key.
_OWN = ("key", "cost")
_SAME_AS_SERVICE = tuple(f.name for f in fields(StatsBucket) if f.init and f.name not in _OWN)


@dataclass(frozen=True, slots=True)
class BucketCosts:
    """print_stats_costs' sums, in the farm's currency."""

    sums: dict[Any, CostSum]
    currency: str


def stats_bucket(
    bucket: ServiceBucket,
    group_by: StatsGroupBy,
    costs: BucketCosts | None = None,
) -> StatsBucket:
    """The service's bucket with its key in the form a filter takes back; a field added
    to both needs no line here. ``costs``: the cost sums of every bucket, when asked."""
    same = {name: getattr(bucket, name) for name in _SAME_AS_SERVICE}
    totals = NOT_READ
    if costs is not None:
        sums = costs.sums.get(cost_key(bucket, group_by))
        totals = cost_totals(sums, costs.currency, bucket.job_count)
    return StatsBucket(key=_filter_key(bucket, group_by), cost=totals, **same)


def _filter_key(bucket: ServiceBucket, group_by: StatsGroupBy) -> str | None:
    """The key as a filter takes it back."""
    if bucket.printer_id is not None:
        return to_global_id("Printer", bucket.printer_id)
    if group_by is StatsGroupBy.STATUS and bucket.key is not None:
        return job_status(bucket.key).name
    if group_by is StatsGroupBy.FAILURE_REASON and bucket.key is not None:
        return FailureReason(bucket.key).name
    return bucket.key
