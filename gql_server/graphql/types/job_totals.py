"""Per-printer aggregates over completed jobs, and Moonraker's totals beside them."""

from datetime import datetime
from typing import Any

import strawberry

from gql_server.graphql.types.columns import field_columns, row_values
from gql_server.graphql.types.node import Node

# Moonraker sums durations and lengths as it goes, the database in its own order: the
# two sums of the same doubles part in the last bits (1e-10 s over a year of jobs).
DIFFERENCE_DECIMALS = 6


def _rounded(value: float) -> float:
    return round(value, DIFFERENCE_DECIMALS) + 0.0  # + 0.0: no -0.0


@strawberry.type(description="Totals over a printer's completed jobs, computed by SQL.")
class JobTotals(Node):
    total_jobs: int
    total_time: float = strawberry.field(description="Sum of total durations, seconds.")
    total_print_time: float = strawberry.field(description="Sum of print durations, seconds.")
    total_filament_used: float = strawberry.field(description="Millimetres.")
    longest_job: float = strawberry.field(description="Longest total duration, seconds.")
    last_updated: datetime
    moonraker: "MoonrakerTotals | None" = strawberry.field(
        description="Moonraker's own totals as last reported, kept beside ours. They count "
        "every finished job (any status but in_progress and interrupted), not only "
        "completed ones, and deleting jobs from Moonraker's history never lowers them."
    )
    # Our figures counted Moonraker's way (services/totals.py), for the difference.
    finished: strawberry.Private["TotalsDifference"]

    @strawberry.field(
        description="Moonraker's totals minus the same figures computed by us Moonraker's "
        "way: over every imported job whose status is neither in_progress nor "
        "interrupted (the fields above count completed jobs only). Each value is rounded "
        f"to {DIFFERENCE_DECIMALS} decimals, below which only the order of adding differs. "
        "0 everywhere after a complete import of an untouched history. What still makes "
        "it differ: jobs deleted from Moonraker's history, which its totals keep "
        "(positive; longestJob too when the longest job was deleted); a reset of "
        "Moonraker's totals (/server/history/reset_totals: negative); jobs not imported "
        "yet, such as one that finished between the sync's reading of the job list and "
        "of the totals (positive). Null until Moonraker's totals have been reported."
    )
    def moonraker_difference(self) -> "TotalsDifference | None":
        if self.moonraker is None:
            return None
        reported, ours = self.moonraker, self.finished
        return TotalsDifference(
            total_jobs=reported.total_jobs - ours.total_jobs,
            total_time=_rounded(reported.total_time - ours.total_time),
            total_print_time=_rounded(reported.total_print_time - ours.total_print_time),
            total_filament_used=_rounded(reported.total_filament_used - ours.total_filament_used),
            longest_job=_rounded(reported.longest_job - ours.longest_job),
        )


@strawberry.type(description="Totals as Moonraker reports them (/server/history/totals).")
class MoonrakerTotals:
    total_jobs: int
    total_time: float
    total_print_time: float
    total_filament_used: float
    longest_job: float
    reported_at: datetime


@strawberry.type(description="Moonraker's totals minus ours counted its way, field by field.")
class TotalsDifference:
    total_jobs: int
    total_time: float
    total_print_time: float
    total_filament_used: float
    longest_job: float


_COLUMNS = field_columns(JobTotals)
# Our figures counted Moonraker's way: the job_totals column of each figure.
_FINISHED_COLUMNS = {
    "total_jobs": "finished_jobs",
    "total_time": "finished_time",
    "total_print_time": "finished_print_time",
    "total_filament_used": "finished_filament_used",
    "longest_job": "longest_finished_job",
}


def job_totals_from_row(row: Any) -> JobTotals:
    return JobTotals(
        **row_values(row, _COLUMNS),
        moonraker=_moonraker(row),
        finished=TotalsDifference(**row_values(row, _FINISHED_COLUMNS)),
    )


def _moonraker(row: Any) -> MoonrakerTotals | None:
    if row.moonraker_reported_at is None:
        return None
    return MoonrakerTotals(
        total_jobs=row.moonraker_total_jobs or 0,
        total_time=row.moonraker_total_time or 0.0,
        total_print_time=row.moonraker_total_print_time or 0.0,
        total_filament_used=row.moonraker_total_filament_used or 0.0,
        longest_job=row.moonraker_longest_job or 0.0,
        reported_at=row.moonraker_reported_at,
    )
