"""Print statistics grouped by printer, status, filament type or calendar period.

The rollups answer when they hold the exact answer (services/rollups/reads.py); else
the jobs are summed by the database with GROUP BY, by the same rule
(services/stats_sql.py). Calendar buckets are taken in the
caller's time zone: neither SQLite nor a MariaDB without loaded zone tables can convert
zones, so the UTC offsets in force over the data's time span (the zone's transitions,
services/zones.py) are passed in as a CASE expression and added before truncating to the
day.
"""

import enum
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, select, text
from sqlalchemy.orm import Session

from gql_server.db.folding import fold
from gql_server.db.models import FOLDED_WIDTHS, JobAnnotation, JobCost, JobDetails, PrintJob
from gql_server.db.types import as_utc
from gql_server.services.errors import ValidationError
from gql_server.services.estimates import NO_ESTIMATES, EstimateErrors, estimate_errors_by_bucket
from gql_server.services.job_queries import (
    KNOWN_STATUSES,
    UNKNOWN_STATUS,
    JobFilter,
    filter_conditions,
)
from gql_server.services.rollups import cost_reads
from gql_server.services.rollups import reads as rollup_reads
from gql_server.services.stats_sql import aggregate, job_counts, period
from gql_server.services.zones import offset_spans


class StatsGroupBy(enum.Enum):
    PRINTER = "printer"
    STATUS = "status"
    FILAMENT_TYPE = "filament_type"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    FAILURE_REASON = "failure_reason"
    SLICER = "slicer"


CALENDAR = (StatsGroupBy.DAY, StatsGroupBy.WEEK, StatsGroupBy.MONTH)


@dataclass(frozen=True, slots=True)
class StatsRequest:
    """What printStats asks: the jobs, how to bucket them, and the zone whose calendar
    DAY/WEEK/MONTH buckets follow. ``print_stats`` and ``print_stats_costs`` answer the
    same request, bucket for bucket."""

    job_filter: JobFilter
    group_by: StatsGroupBy
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class StatsBucket:
    key: str | None
    printer_id: int | None
    job_count: int
    completed_count: int
    finished_count: int
    print_time: float
    total_time: float
    filament_used: float
    # None unless asked for (print_stats' with_estimates).
    estimate_errors: EstimateErrors | None = None

    @property
    def success_rate(self) -> float | None:
        """Completed over finished jobs: a job still printing has not failed yet."""
        if self.finished_count == 0:
            return None
        return self.completed_count / self.finished_count


# IANA names are ASCII path components ("America/Argentina/ComodRivadavia", 32
# characters, is the longest); anything else would only reach the file system, where a
# 10,000-character name raised OSError and "America" (a directory) IsADirectoryError.
TIMEZONE_MAX = 64
TIMEZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")


def resolve_zone(name: str) -> ZoneInfo:
    if len(name) <= TIMEZONE_MAX and TIMEZONE_NAME.fullmatch(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    shown = name if len(name) <= TIMEZONE_MAX else name[:TIMEZONE_MAX] + "…"
    raise ValidationError(
        f"unknown time zone {shown!r}; use an IANA name such as Europe/Berlin "
        f"(at most {TIMEZONE_MAX} characters)",
        field="timezone",
        code="INVALID_TIMEZONE",
    )


def _local_offset(spans: list[tuple[datetime, int]]) -> ColumnElement[Any]:
    if len(spans) == 1:
        return literal(spans[0][1])
    whens = [(PrintJob.start_time < spans[i + 1][0], spans[i][1]) for i in range(len(spans) - 1)]
    return case(*whens, else_=spans[-1][1])


def _time_span(session: Session, conditions: list[Any]) -> tuple[datetime, datetime] | None:
    query = select(func.min(PrintJob.start_time), func.max(PrintJob.start_time)).where(*conditions)
    earliest, latest = session.execute(query).one()
    if earliest is None:
        return None
    return _as_utc(earliest), _as_utc(latest)


def _as_utc(value: datetime | str) -> datetime:
    # MIN()/MAX() lose the column type on SQLite and come back as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _bucket_key(session: Session, request: StatsRequest, conditions: list[Any]) -> Any | None:
    """The GROUP BY expression, or None when a calendar grouping has no job to place."""
    group_by = request.group_by
    if group_by is StatsGroupBy.PRINTER:
        return PrintJob.printer_id
    if group_by is StatsGroupBy.STATUS:
        # One bucket for every status Moonraker may add later, as the filter's "unknown".
        return case((PrintJob.status.in_(KNOWN_STATUSES), PrintJob.status), else_=UNKNOWN_STATUS)
    if group_by is StatsGroupBy.FILAMENT_TYPE:
        # The same rule as the filter: "PLA" and "pla" are one bucket on every database.
        return JobDetails.filament_type_folded
    if group_by is StatsGroupBy.SLICER:
        return PrintJob.slicer_folded  # as the slicer filter matches it
    if group_by is StatsGroupBy.FAILURE_REASON:
        return JobAnnotation.failure_reason  # the query joins job_annotations
    zone = resolve_zone(request.timezone)
    span = _time_span(session, conditions)
    if span is None:
        return None
    offset = _local_offset(offset_spans(zone, *span))
    return period(session.get_bind().dialect.name, group_by.value, _local_time(session, offset))


def _local_time(session: Session, offset: ColumnElement[Any]) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return func.datetime(PrintJob.start_time, func.printf("%+d seconds", offset))
    return func.timestampadd(text("SECOND"), offset, PrintJob.start_time)


def print_stats(
    session: Session,
    request: StatsRequest,
    *,
    use_rollups: bool = True,
    with_estimates: bool = False,
) -> list[StatsBucket]:
    """Buckets from the rollups when they hold the answer exactly (services/rollups),
    else from the jobs; ``use_rollups`` False always reads the jobs. ``with_estimates``
    adds each bucket's estimate errors, which only the jobs hold (one more statement,
    services/estimates.py)."""
    if request.timezone != "UTC":
        resolve_zone(request.timezone)  # refuse a bad zone name whoever answers
    if request.group_by is StatsGroupBy.FAILURE_REASON:
        return _failure_reason_buckets(session, request.job_filter, use_rollups=use_rollups)
    rows = None
    if use_rollups:  # they decline what they are not keyed by (FAILURE_REASON, ...)
        rows = rollup_reads.stats_rows(
            session, request.job_filter, request.group_by.value, request.timezone
        )
    if rows is None:
        rows = _raw_rows(session, request)
    buckets = [_bucket(request.group_by, row) for row in rows]
    if not with_estimates or not buckets:
        return buckets
    errors = _estimate_errors(session, request)
    return [
        replace(bucket, estimate_errors=errors.get(_key_text(row[0]), NO_ESTIMATES))
        for bucket, row in zip(buckets, rows, strict=True)
    ]


def _estimate_errors(session: Session, request: StatsRequest) -> dict[str | None, EstimateErrors]:
    """Keyed as the buckets' raw keys read as text (_key_text), whoever answered them."""
    conditions = filter_conditions(request.job_filter)
    key = _bucket_key(session, request, conditions)
    if key is None:
        return {}
    found = estimate_errors_by_bucket(session, key, conditions)
    return {_key_text(bucket): errors for bucket, errors in found.items()}


def _summed_columns() -> tuple[Any, ...]:
    """What a bucket sums of each job, under the names stats_sql.aggregate reads."""
    completed, finished = job_counts(PrintJob.status, 1)
    return (
        JobDetails.filament_type,
        literal(1).label("jobs"),
        completed.label("completed"),
        finished.label("finished"),
        PrintJob.print_duration.label("print_time"),
        PrintJob.total_duration.label("total_time"),
        PrintJob.filament_used,
    )


def _raw_jobs(session: Session, request: StatsRequest) -> Select[Any] | None:
    """The filtered jobs with their details and their bucket (column ``bucket``); the
    caller adds the columns it sums. None when a calendar grouping has no job to place."""
    conditions = filter_conditions(request.job_filter)
    key = _bucket_key(session, request, conditions)
    if key is None:
        return None
    jobs = (
        select(key.label("bucket"))
        .select_from(PrintJob)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(*conditions)
    )
    if request.group_by is StatsGroupBy.FAILURE_REASON:
        jobs = jobs.outerjoin(JobAnnotation, JobAnnotation.print_job_id == PrintJob.id)
    return jobs


def _raw_rows(session: Session, request: StatsRequest) -> list[Any]:
    jobs = _raw_jobs(session, request)
    if jobs is None:
        return []
    rows = jobs.add_columns(*_summed_columns()).subquery("rows")
    return list(session.execute(aggregate(session.get_bind().dialect.name, rows)))


def _failure_reason_buckets(
    session: Session, job_filter: JobFilter, *, use_rollups: bool
) -> list[StatsBucket]:
    """A bucket per failure reason, read from the annotated jobs only (through
    job_annotations: a few among many), after the bucket (key None) of the jobs without
    one: what is left of the filter's totals, which the rollups answer when they can.
    Its float sums may differ from summing those jobs in their last bits."""
    rows = (
        select(JobAnnotation.failure_reason.label("bucket"), *_summed_columns())
        .select_from(JobAnnotation)
        .join(PrintJob, PrintJob.id == JobAnnotation.print_job_id)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(JobAnnotation.failure_reason.is_not(None), *filter_conditions(job_filter))
        .subquery("rows")
    )
    dialect = session.get_bind().dialect.name
    reasons = [
        _bucket(StatsGroupBy.FAILURE_REASON, row)
        for row in session.execute(aggregate(dialect, rows))
    ]
    every = print_stats(
        session, StatsRequest(job_filter, StatsGroupBy.STATUS), use_rollups=use_rollups
    )
    rest = _left_over(every, reasons)
    return reasons if rest.job_count == 0 else [rest, *reasons]


SUMMED = (
    "job_count",
    "completed_count",
    "finished_count",
    "print_time",
    "total_time",
    "filament_used",
)


def _left_over(every: list[StatsBucket], some: list[StatsBucket]) -> StatsBucket:
    """The buckets ``every`` minus the buckets ``some`` (which they include), keyless."""
    left = {
        name: sum(getattr(b, name) for b in every) - sum(getattr(b, name) for b in some)
        for name in SUMMED
    }
    return StatsBucket(key=None, printer_id=None, **left)


def _bucket(group_by: StatsGroupBy, row: Any) -> StatsBucket:
    bucket, filament_type, jobs, completed, finished, print_time, total_time, filament = row
    printer_id = int(bucket) if group_by is StatsGroupBy.PRINTER else None
    if group_by is StatsGroupBy.FILAMENT_TYPE:
        bucket = filament_type
    return StatsBucket(
        key=_key_text(bucket),
        printer_id=printer_id,
        job_count=int(jobs),
        completed_count=int(completed or 0),
        finished_count=int(finished or 0),
        print_time=float(print_time),
        total_time=float(total_time),
        filament_used=float(filament),
    )


def _key_text(bucket: Any) -> str | None:
    if bucket is None:
        return None
    if isinstance(bucket, date | datetime):
        return bucket.isoformat()[:10]
    return str(bucket)


@dataclass(frozen=True, slots=True)
class CostSum:
    """The stored costs of a bucket's jobs (services/job_costs.py): the sums over those
    that have one, and how many have a filament cost."""

    filament: float
    machine: float
    priced_jobs: int


def cost_key(bucket: StatsBucket, group_by: StatsGroupBy) -> Any:
    """What ``print_stats_costs`` keys a bucket's sums by."""
    if group_by is StatsGroupBy.PRINTER:
        return bucket.printer_id
    if group_by is StatsGroupBy.FILAMENT_TYPE:
        return (
            None if bucket.key is None else fold(bucket.key, FOLDED_WIDTHS["filament_type_folded"])
        )
    return bucket.key


def print_stats_costs(
    session: Session, request: StatsRequest, *, use_rollups: bool = True
) -> dict[Any, CostSum]:
    """The cost sums of ``print_stats``'s buckets for the same request, by ``cost_key``:
    asked only when a query selects them, so the other figures never pay for them. From
    the cost rollups whenever the job rollups answer the buckets, else from the jobs."""
    if request.group_by is StatsGroupBy.FAILURE_REASON:
        return _failure_reason_costs(session, request.job_filter, use_rollups=use_rollups)
    rows = None
    if use_rollups:
        rows = cost_reads.cost_rows(
            session, request.job_filter, request.group_by.value, request.timezone
        )
    if rows is None:
        rows = _raw_cost_rows(session, request)
    return _cost_sums(request.group_by, rows)


def _cost_sums(group_by: StatsGroupBy, rows: list[Any]) -> dict[Any, CostSum]:
    return {
        _cost_bucket(group_by, bucket): CostSum(
            float(filament or 0), float(machine or 0), int(priced or 0)
        )
        for bucket, priced, filament, machine in rows
    }


def _failure_reason_costs(
    session: Session, job_filter: JobFilter, *, use_rollups: bool
) -> dict[Any, CostSum]:
    """As ``_failure_reason_buckets``: the annotated jobs' costs per reason, and under
    None what is left of the filter's total (the cost rollups' when they can answer)."""
    rows = (
        select(JobAnnotation.failure_reason, JobCost.filament_cost, JobCost.machine_cost)
        .select_from(JobAnnotation)
        .join(PrintJob, PrintJob.id == JobAnnotation.print_job_id)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .join(JobCost, JobCost.print_job_id == PrintJob.id)
        .where(JobAnnotation.failure_reason.is_not(None), *filter_conditions(job_filter))
        .subquery("rows")
    )
    per_reason = _cost_sums_per(rows, rows.c.failure_reason)
    reasons = _cost_sums(StatsGroupBy.FAILURE_REASON, list(session.execute(per_reason)))
    every = print_stats_costs(
        session, StatsRequest(job_filter, StatsGroupBy.STATUS), use_rollups=use_rollups
    )
    left = CostSum(
        sum(c.filament for c in every.values()) - sum(c.filament for c in reasons.values()),
        sum(c.machine for c in every.values()) - sum(c.machine for c in reasons.values()),
        sum(c.priced_jobs for c in every.values()) - sum(c.priced_jobs for c in reasons.values()),
    )
    return {None: left, **reasons}


def _raw_cost_rows(session: Session, request: StatsRequest) -> list[Any]:
    jobs = _raw_jobs(session, request)
    if jobs is None:
        return []
    rows = (
        jobs.add_columns(JobCost.filament_cost, JobCost.machine_cost)
        .outerjoin(JobCost, JobCost.print_job_id == PrintJob.id)
        .subquery("rows")
    )
    return list(session.execute(_cost_sums_per(rows, rows.c.bucket)))


def _cost_sums_per(rows: Subquery, bucket: ColumnElement[Any]) -> Select[Any]:
    """(bucket, priced jobs, filament cost, machine cost) over jobs joined to their
    costs: a job is priced when it has a filament cost (COUNT skips NULLs)."""
    return cost_reads.cost_sums(rows, bucket, priced_jobs=func.count(rows.c.filament_cost))


def _cost_bucket(group_by: StatsGroupBy, bucket: Any) -> Any:
    if group_by is StatsGroupBy.PRINTER:
        return int(bucket)
    return _key_text(bucket)
