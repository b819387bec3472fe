"""Statistics and job counts from the rollups, when they hold the exact answer.

They do when the filter uses only printers, statuses (with "unknown"), filament types,
the slicer and start bounds on whole days, and a calendar grouping is asked in UTC or in
the zone the rollups were built for:

- no day involved: ``job_rollup_totals`` (per printer and slicer, whole history), which
  alone answers the SLICER grouping and the slicer filter;
- days involved (calendar buckets or start bounds): ``job_rollup_day_statuses``, or
  ``job_rollup_days`` when filtered by filament type; farm-wide and without the slicer,
  so neither a printer or slicer filter nor the PRINTER or SLICER grouping;
- a start bound must be a day's first instant in that zone. ``startedAfter`` is strict:
  a job starting at exactly that instant is not counted, so the rollups answer only
  when no job starts there (one indexed look-up).

Otherwise these functions return None and the caller reads the jobs. The answers equal
the jobs' own: counts exactly; float sums up to their last bits, since the rollups were
added to and subtracted from in another order.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    Subquery,
    Table,
    case,
    cast,
    func,
    null,
    select,
)
from sqlalchemy.orm import Session

from gql_server.db.models import PrintJob
from gql_server.db.tables import JOB_ROLLUP_DAY_STATUSES, JOB_ROLLUP_DAYS, JOB_ROLLUP_TOTALS
from gql_server.db.types import as_utc
from gql_server.services.job_queries import (
    KNOWN_STATUSES,
    UNKNOWN_STATUS,
    JobFilter,
    status_condition,
)
from gql_server.services.rollups.maintain import UTC, stored_zone
from gql_server.services.sql_filters import equals_folded, in_folded
from gql_server.services.stats_sql import CALENDAR_KINDS, aggregate, job_counts, period
from gql_server.services.zones import first_instant_of_day

# The groupings the rollups are keyed by; any other (a job's annotation, say) is the
# jobs' to answer.
ROLLED_UP_KINDS = frozenset({"printer", "status", "filament_type", "slicer", *CALENDAR_KINDS})
# The groupings only the whole-history level is keyed by.
TOTALS_ONLY_KINDS = frozenset({"printer", "slicer"})


@dataclass(frozen=True, slots=True)
class Source:
    level: Table
    conditions: list[Any]


def _answerable(job_filter: JobFilter) -> bool:
    f = job_filter
    return (
        not f.filename_contains
        and f.user is None
        and f.failure_reasons is None  # annotations are not rolled up
    )


def _job_conditions(level: Table, job_filter: JobFilter) -> list[Any]:
    """The status and filament type filters, as job_queries.filter_conditions has them."""
    conditions: list[Any] = []
    if job_filter.statuses is not None:
        conditions.append(status_condition(job_filter.statuses, level.c.status))
    if job_filter.filament_types is not None:
        conditions.append(level.c.has_filament_type)
        conditions.append(in_folded(level.c.filament_type_folded, job_filter.filament_types))
    return conditions


def _day_level(job_filter: JobFilter, *, by_filament: bool) -> Table:
    """The day level with the fewest rows that still holds what is asked."""
    return (
        JOB_ROLLUP_DAYS
        if by_filament or job_filter.filament_types is not None
        else JOB_ROLLUP_DAY_STATUSES
    )


def _day_bounds(job_filter: JobFilter, zone: ZoneInfo, level: Table) -> list[Any] | None:
    """Day conditions equal to the filter's start bounds in ``zone``, or None."""
    conditions: list[Any] = []
    for bound, operator in ((job_filter.started_after, "ge"), (job_filter.started_before, "lt")):
        if bound is None:
            continue
        day: date | None = first_instant_of_day(as_utc(bound), zone)
        if day is None:
            return None
        conditions.append(level.c.day >= day if operator == "ge" else level.c.day < day)
    return conditions


def _clocks(connection: Connection, calendar_zone: str | None) -> Iterator[tuple[bool, str]]:
    """(farm_zone flag, zone name) of the day rows that may answer: the UTC days first,
    for which the state row need not be read."""
    if calendar_zone in (None, UTC):
        yield False, UTC
    if calendar_zone == UTC:
        return
    farm = stored_zone(connection)
    if farm != UTC and calendar_zone in (None, farm):
        yield True, farm


def _job_starts_at(connection: Connection, job_filter: JobFilter) -> bool:
    after = job_filter.started_after
    if after is None:
        return False
    query = select(PrintJob.id).where(PrintJob.start_time == as_utc(after)).limit(1)
    return connection.execute(query).first() is not None


def _source(
    connection: Connection,
    job_filter: JobFilter,
    *,
    kind: str | None,
    calendar_zone: str | None,
) -> Source | None:
    """Where the rollups answer grouping ``kind`` (None: a count) under the filter."""
    if not _answerable(job_filter):
        return None
    f = job_filter
    if calendar_zone is None and f.started_after is None and f.started_before is None:
        conditions = _job_conditions(JOB_ROLLUP_TOTALS, f)
        if f.printer_ids is not None:
            conditions.append(JOB_ROLLUP_TOTALS.c.printer_id.in_(list(f.printer_ids)))
        if f.slicer is not None:
            conditions.append(JOB_ROLLUP_TOTALS.c.has_slicer)
            conditions.append(equals_folded(JOB_ROLLUP_TOTALS.c.slicer_folded, f.slicer))
        return Source(JOB_ROLLUP_TOTALS, conditions)
    if kind in TOTALS_ONLY_KINDS or f.printer_ids is not None or f.slicer is not None:
        return None
    level = _day_level(f, by_filament=kind == "filament_type")
    needs_bounds = f.started_after is not None or f.started_before is not None
    for farm_zone, name in _clocks(connection, calendar_zone):
        bounds = _day_bounds(f, ZoneInfo(name), level) if needs_bounds else []
        if bounds is None:
            continue
        if _job_starts_at(connection, f):
            return None
        conditions = [level.c.farm_zone == farm_zone, *bounds, *_job_conditions(level, f)]
        return Source(level, conditions)
    return None


def answering_source(
    connection: Connection, job_filter: JobFilter, kind: str, timezone: str
) -> Source | None:
    """The level and conditions that answer grouping ``kind`` (a StatsGroupBy value) in
    ``timezone`` under the filter, or None when only the jobs can say: what stats_rows
    reads and the cost rollups follow (rollups/cost_reads.py)."""
    if kind not in ROLLED_UP_KINDS:
        return None
    calendar_zone = timezone if kind in CALENDAR_KINDS else None
    return _source(connection, job_filter, kind=kind, calendar_zone=calendar_zone)


def _bucket(level: Table, kind: str) -> Any:
    if kind == "printer":
        return level.c.printer_id
    if kind == "status":
        return case((level.c.status.in_(KNOWN_STATUSES), level.c.status), else_=UNKNOWN_STATUS)
    if kind == "slicer":
        return slicer_bucket(level)
    return case((level.c.has_filament_type, level.c.filament_type_folded), else_=null())


def slicer_bucket(level: Table) -> Any:
    """The SLICER bucket of a whole-history row: the jobs' ``slicer_folded``, NULL for
    the jobs without a slicer (as services/stats.py groups the jobs)."""
    return case((level.c.has_slicer, level.c.slicer_folded), else_=null())


def stats_rows(
    session: Session, job_filter: JobFilter, kind: str, timezone: str
) -> list[Any] | None:
    """stats_sql.aggregate's rows for grouping ``kind`` (a StatsGroupBy value), or None."""
    connection = session.connection()
    source = answering_source(connection, job_filter, kind, timezone)
    if source is None:
        return None
    if kind == "day":
        # The days are the buckets: no second grouping (1,095 of them over three years).
        return list(connection.execute(_per_day(source).order_by(source.level.c.day)))
    dialect = connection.dialect.name
    rows = _days(source, kind, dialect) if kind in CALENDAR_KINDS else _job_rows(source, kind)
    return list(connection.execute(aggregate(dialect, rows)))


def _job_rows(source: Source, kind: str) -> Subquery:
    level = source.level
    completed, finished = job_counts(level.c.status, level.c.job_count)
    return (
        select(
            _bucket(level, kind).label("bucket"),
            _shown_filament_type(level).label("filament_type"),
            level.c.job_count.label("jobs"),
            completed.label("completed"),
            finished.label("finished"),
            level.c.print_time,
            level.c.total_time,
            level.c.filament_used,
        )
        .where(*source.conditions)
        .subquery("rows")
    )


def _shown_filament_type(level: Table) -> Any:
    if level is JOB_ROLLUP_DAY_STATUSES:
        return null()  # never read: that level does not answer the FILAMENT_TYPE grouping
    return case((level.c.has_filament_type, level.c.filament_type))


def _per_day(source: Source) -> Select[Any]:
    """One row per day in aggregate's column order (bucket, shown filament type, jobs,
    completed, finished, the three sums), summed in the primary key's order: no sort of
    every row."""
    level = source.level
    completed, finished = job_counts(level.c.status, level.c.job_count)
    return (
        select(
            level.c.day.label("bucket"),
            null().label("filament_type"),
            # Counts as integers: MariaDB's SUM of them is a DECIMAL, slower to decode.
            cast(func.sum(level.c.job_count), Integer).label("jobs"),
            cast(func.sum(completed), Integer).label("completed"),
            cast(func.sum(finished), Integer).label("finished"),
            func.sum(level.c.print_time).label("print_time"),
            func.sum(level.c.total_time).label("total_time"),
            func.sum(level.c.filament_used).label("filament_used"),
        )
        .where(*source.conditions)
        .group_by(level.c.day)
    )


def _days(source: Source, kind: str, dialect: str) -> Subquery:
    """Bucketed by week or month over one row per day."""
    days = _per_day(source).subquery("days")
    return select(
        period(dialect, kind, days.c.bucket).label("bucket"),
        *(days.c[name] for name in ("filament_type", "jobs", "completed", "finished")),
        *(days.c[name] for name in ("print_time", "total_time", "filament_used")),
    ).subquery("rows")


def count_jobs(session: Session, job_filter: JobFilter) -> int | None:
    """How many jobs match, or None when only the jobs can say."""
    connection = session.connection()
    source = _source(connection, job_filter, kind=None, calendar_zone=None)
    if source is None:
        return None
    query = select(func.coalesce(func.sum(source.level.c.job_count), 0))
    return int(connection.execute(query.where(*source.conditions)).scalar_one())


def count_jobs_per_printer(
    session: Session, printer_ids: list[int], job_filter: JobFilter
) -> dict[int, int] | None:
    """Matching jobs of each printer (absent: none), or None when only the jobs can say."""
    connection = session.connection()
    source = _source(connection, job_filter, kind="printer", calendar_zone=None)
    if source is None:
        return None
    level = source.level
    query = (
        select(level.c.printer_id, func.sum(level.c.job_count))
        .where(level.c.printer_id.in_(printer_ids), *source.conditions)
        .group_by(level.c.printer_id)
    )
    return {int(printer_id): int(count) for printer_id, count in connection.execute(query)}
