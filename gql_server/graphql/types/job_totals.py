"""Per-printer aggregates over completed jobs."""

from datetime import datetime

import strawberry

from gql_server.db.models import JobTotals as JobTotalsRow
from gql_server.graphql.types.node import Node


@strawberry.type(description="Totals over a printer's completed jobs, computed by SQL.")
class JobTotals(Node):
    total_jobs: int
    total_time: float = strawberry.field(description="Sum of total durations, seconds.")
    total_print_time: float = strawberry.field(description="Sum of print durations, seconds.")
    total_filament_used: float = strawberry.field(description="Millimetres.")
    longest_job: float = strawberry.field(description="Longest total duration, seconds.")
    last_updated: datetime


def job_totals_from_row(row: JobTotalsRow) -> JobTotals:
    return JobTotals(
        database_id=row.id,
        total_jobs=row.total_jobs,
        total_time=row.total_time,
        total_print_time=row.total_print_time,
        total_filament_used=row.total_filament_used,
        longest_job=row.longest_job,
        last_updated=row.last_updated,
    )
