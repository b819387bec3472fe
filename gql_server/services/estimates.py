"""How far the slicer's time estimate was from the print: per job and per stats bucket.

The estimate is the metadata's ``estimated_time`` as the details store it
(``job_details.estimated_time``, whole seconds). A job's relative error is
``(print_duration - estimated_time) / estimated_time``: positive when the print took
longer than the slicer said. It exists only for a completed job with a print duration
and a positive estimate; every other job has none and is left out of the percentiles.

The percentiles are computed by the database in one statement: the jobs' absolute
errors ranked per bucket (ROW_NUMBER and COUNT windows, on SQLite and MariaDB alike),
then the ranks picked by integer arithmetic. They are nearest-rank percentiles: the
p-quantile of n errors is the ceil(p·n)-th smallest (the median of 4 is the 2nd).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Double, and_, case, cast, func, select
from sqlalchemy.orm import Session

from gql_server.db.models import JobDetails, PrintJob
from gql_server.services.stats_sql import COMPLETED


@dataclass(frozen=True, slots=True)
class EstimateErrors:
    """Of a bucket's jobs with an estimate error: the median and 90th percentile of the
    absolute error, and how many there were (None figures when none)."""

    median: float | None
    p90: float | None
    count: int


NO_ESTIMATES = EstimateErrors(None, None, 0)


def has_estimate() -> Any:
    """The jobs (joined to their details) whose estimate error exists."""
    return and_(
        PrintJob.status == COMPLETED,
        PrintJob.print_duration.is_not(None),
        JobDetails.estimated_time > 0,
    )


def relative_error() -> Any:
    estimate = cast(JobDetails.estimated_time, Double)
    return (PrintJob.print_duration - estimate) / estimate


def fetch_estimate_errors(session: Session, job_ids: Sequence[int]) -> dict[int, float | None]:
    """Each job's relative error (None: it has none), in one query."""
    error = case((has_estimate(), relative_error()))
    query = (
        select(PrintJob.id, error)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(PrintJob.id.in_(list(job_ids)))
    )
    found: dict[int, float | None] = dict.fromkeys(job_ids)
    found.update({job_id: None if e is None else float(e) for job_id, e in session.execute(query)})
    return found


def _rank_of(rank: Any, count: Any, tenths: int) -> Any:
    """``rank`` is ceil(tenths/10 · count): the smallest rank with rank·10 ≥ tenths·count."""
    return and_(rank * 10 >= count * tenths, (rank - 1) * 10 < count * tenths)


def estimate_errors_by_bucket(
    session: Session, bucket: Any, conditions: Sequence[Any]
) -> dict[Any, EstimateErrors]:
    """EstimateErrors per value of ``bucket`` (an expression over print_jobs and
    job_details) of the jobs matching ``conditions``."""
    error = func.abs(relative_error())
    ranked = (
        select(
            bucket.label("bucket"),
            error.label("error"),
            func.row_number().over(partition_by=bucket, order_by=error).label("error_rank"),
            func.count().over(partition_by=bucket).label("errors"),
        )
        .select_from(PrintJob)
        .join(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(has_estimate(), *conditions)
        .subquery("ranked")
    )
    rank, count = ranked.c.error_rank, ranked.c.errors
    query = select(
        ranked.c.bucket,
        func.max(case((_rank_of(rank, count, 5), ranked.c.error))),
        func.max(case((_rank_of(rank, count, 9), ranked.c.error))),
        func.max(count),
    ).group_by(ranked.c.bucket)
    return {
        row[0]: EstimateErrors(float(row[1]), float(row[2]), int(row[3]))
        for row in session.execute(query)
    }
