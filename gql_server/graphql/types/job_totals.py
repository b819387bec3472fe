"""Per-printer aggregates over completed jobs."""

from datetime import datetime
from typing import Any

import strawberry

from gql_server.graphql.types.node import Node


@strawberry.type(description="Totals over a printer's completed jobs, computed by SQL.")
class JobTotals(Node):
    total_jobs: int
    total_time: float = strawberry.field(description="Sum of total durations, seconds.")
    total_print_time: float = strawberry.field(description="Sum of print durations, seconds.")
    total_filament_used: float = strawberry.field(description="Millimetres.")
    longest_job: float = strawberry.field(description="Longest total duration, seconds.")
    last_updated: datetime
    moonraker: "MoonrakerTotals | None" = strawberry.field(
        description="Moonraker's own totals as last reported, kept beside ours: they drift "
        "from its job list (deleted jobs stay counted; every finished status but "
        "interrupted counts)."
    )

    @strawberry.field(description="Moonraker's totals minus ours; null until reported.")
    def moonraker_difference(self) -> "TotalsDifference | None":
        if self.moonraker is None:
            return None
        return TotalsDifference(
            total_jobs=self.moonraker.total_jobs - self.total_jobs,
            total_time=self.moonraker.total_time - self.total_time,
            total_print_time=self.moonraker.total_print_time - self.total_print_time,
            total_filament_used=self.moonraker.total_filament_used - self.total_filament_used,
            longest_job=self.moonraker.longest_job - self.longest_job,
        )


@strawberry.type(description="Totals as Moonraker reports them (/server/history/totals).")
class MoonrakerTotals:
    total_jobs: int
    total_time: float
    total_print_time: float
    total_filament_used: float
    longest_job: float
    reported_at: datetime


@strawberry.type(description="Moonraker's totals minus ours, field by field.")
class TotalsDifference:
    total_jobs: int
    total_time: float
    total_print_time: float
    total_filament_used: float
    longest_job: float


def job_totals_from_row(row: Any) -> JobTotals:
    return JobTotals(
        database_id=row.id,
        total_jobs=row.total_jobs,
        total_time=row.total_time,
        total_print_time=row.total_print_time,
        total_filament_used=row.total_filament_used,
        longest_job=row.longest_job,
        last_updated=row.last_updated,
        moonraker=_moonraker(row),
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
