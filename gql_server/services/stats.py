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
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case, func, literal, select, text
from sqlalchemy.orm import Session

from gql_server.db.folding import fold
from gql_server.db.models import FOLDED_WIDTHS, JobCost, JobDetails, PrintJob
from gql_server.db.types import as_utc
from gql_server.services.errors import ValidationError
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


CALENDAR = (StatsGroupBy.DAY, StatsGroupBy.WEEK, StatsGroupBy.MONTH)


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


def _bucket_key(
    session: Session, group_by: StatsGroupBy, conditions: list[Any], timezone: str
) -> Any | None:
    """The GROUP BY expression, or None when a calendar grouping has no job to place."""
    if group_by is StatsGroupBy.PRINTER:
        return PrintJob.printer_id
    if group_by is StatsGroupBy.STATUS:
        # One bucket for every status Moonraker may add later, as the filter's "unknown".
        return case((PrintJob.status.in_(KNOWN_STATUSES), PrintJob.status), else_=UNKNOWN_STATUS)
    if group_by is StatsGroupBy.FILAMENT_TYPE:
        # The same rule as the filter: "PLA" and "pla" are one bucket on every database.
        return JobDetails.filament_type_folded
    zone = resolve_zone(timezone)
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
    job_filter: JobFilter,
    group_by: StatsGroupBy,
    *,
    timezone: str = "UTC",
    use_rollups: bool = True,
) -> list[StatsBucket]:
    """Buckets from the rollups when they hold the answer exactly (services/rollups),
    else from the jobs; ``use_rollups`` False always reads the jobs."""
    if timezone != "UTC":
        resolve_zone(timezone)  # refuse a bad zone name whoever answers
    rows = None
    if use_rollups:
        rows = rollup_reads.stats_rows(session, job_filter, group_by.value, timezone)
    if rows is None:
        rows = _raw_rows(session, job_filter, group_by, timezone)
    return [_bucket(group_by, row) for row in rows]


def _raw_rows(
    session: Session, job_filter: JobFilter, group_by: StatsGroupBy, timezone: str
) -> list[Any]:
    conditions = filter_conditions(job_filter)
    key = _bucket_key(session, group_by, conditions, timezone)
    if key is None:
        return []
    completed, finished = job_counts(PrintJob.status, 1)
    rows = (
        select(
            key.label("bucket"),
            JobDetails.filament_type,
            literal(1).label("jobs"),
            completed.label("completed"),
            finished.label("finished"),
            PrintJob.print_duration.label("print_time"),
            PrintJob.total_duration.label("total_time"),
            PrintJob.filament_used,
        )
        .select_from(PrintJob)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(*conditions)
        .subquery("rows")
    )
    return list(session.execute(aggregate(session.get_bind().dialect.name, rows)))


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
    session: Session,
    job_filter: JobFilter,
    group_by: StatsGroupBy,
    *,
    timezone: str = "UTC",
    use_rollups: bool = True,
) -> dict[Any, CostSum]:
    """The cost sums of ``print_stats``'s buckets, by ``cost_key``: asked only when a
    query selects them, so the other figures never pay for them. From the cost rollups
    whenever the job rollups answer the buckets, else from the jobs."""
    rows = None
    if use_rollups:
        rows = cost_reads.cost_rows(session, job_filter, group_by.value, timezone)
    if rows is None:
        rows = _raw_cost_rows(session, job_filter, group_by, timezone)
    return {
        _cost_bucket(group_by, bucket): CostSum(
            float(filament or 0), float(machine or 0), int(priced or 0)
        )
        for bucket, priced, filament, machine in rows
    }


def _raw_cost_rows(
    session: Session, job_filter: JobFilter, group_by: StatsGroupBy, timezone: str
) -> list[Any]:
    conditions = filter_conditions(job_filter)
    key = _bucket_key(session, group_by, conditions, timezone)
    if key is None:
        return []
    rows = (
        select(key.label("bucket"), JobCost.filament_cost, JobCost.machine_cost)
        .select_from(PrintJob)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .outerjoin(JobCost, JobCost.print_job_id == PrintJob.id)
        .where(*conditions)
        .subquery("rows")
    )
    query = select(
        rows.c.bucket,
        func.count(rows.c.filament_cost),
        func.sum(rows.c.filament_cost),
        func.sum(rows.c.machine_cost),
    ).group_by(rows.c.bucket)
    return list(session.execute(query))


def _cost_bucket(group_by: StatsGroupBy, bucket: Any) -> Any:
    if group_by is StatsGroupBy.PRINTER:
        return int(bucket)
    return _key_text(bucket)
