"""Cost statistics from the cost rollups, whenever the job rollups would answer the
same statistics (rollups.reads decides, by the same rule): the cost levels are keyed
as the job levels, so the job level's conditions are rewritten column for column onto
the cost level (``job_rollup_day_statuses``, a narrowing of the days by filament type,
maps to ``job_cost_rollup_days``)."""

from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    FromClause,
    Select,
    Table,
    case,
    func,
    null,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from gql_server.db.tables import JOB_COST_ROLLUP_DAYS, JOB_COST_ROLLUP_TOTALS, JOB_ROLLUP_TOTALS
from gql_server.services.job_queries import KNOWN_STATUSES, UNKNOWN_STATUS, JobFilter
from gql_server.services.rollups.reads import answering_source, slicer_bucket
from gql_server.services.stats_sql import CALENDAR_KINDS, period


def _onto(level: Table, cost_level: Table, condition: Any) -> Any:
    def swap(element: Any, **_: Any) -> Any:
        if isinstance(element, Column) and element.table is level:
            return cost_level.c[element.name]
        return None

    return replacement_traverse(condition, {}, swap)


def _bucket(cost_level: Table, kind: str) -> Any:
    if kind == "printer":
        return cost_level.c.printer_id
    if kind == "status":
        status = cost_level.c.status
        return case((status.in_(KNOWN_STATUSES), status), else_=UNKNOWN_STATUS)
    if kind == "filament_type":
        return case(
            (cost_level.c.has_filament_type, cost_level.c.filament_type_folded), else_=null()
        )
    if kind == "slicer":
        return slicer_bucket(cost_level)
    raise ValueError(f"not a grouping of one level's rows: {kind}")


def cost_rows(
    session: Session, job_filter: JobFilter, kind: str, timezone: str
) -> list[Any] | None:
    """(bucket, priced jobs, filament cost, machine cost) per bucket of grouping ``kind``
    (a StatsGroupBy value), or None when only the jobs can say."""
    connection = session.connection()
    source = answering_source(connection, job_filter, kind, timezone)
    if source is None:
        return None
    cost_level = (
        JOB_COST_ROLLUP_TOTALS if source.level is JOB_ROLLUP_TOTALS else JOB_COST_ROLLUP_DAYS
    )
    conditions = [_onto(source.level, cost_level, c) for c in source.conditions]
    if kind in CALENDAR_KINDS:
        return list(connection.execute(_calendar(cost_level, conditions, kind, connection)))
    rows = (
        select(
            _bucket(cost_level, kind).label("bucket"),
            cost_level.c.priced_jobs,
            cost_level.c.filament_cost,
            cost_level.c.machine_cost,
        )
        .where(*conditions)
        .subquery("rows")
    )
    query = cost_sums(rows, rows.c.bucket, priced_jobs=func.sum(rows.c.priced_jobs))
    return list(connection.execute(query))


def _calendar(cost_level: Table, conditions: list[Any], kind: str, connection: Connection) -> Any:
    """One row per day, summed in the key's order (farm_zone, day, …): no sort of every
    row; weeks and months are then made of the days, as rollups.reads does."""
    days = (
        select(
            cost_level.c.day.label("bucket"),
            func.sum(cost_level.c.priced_jobs).label("priced_jobs"),
            func.sum(cost_level.c.filament_cost).label("filament_cost"),
            func.sum(cost_level.c.machine_cost).label("machine_cost"),
        )
        .where(*conditions)
        .group_by(cost_level.c.day)
    )
    if kind == "day":
        return days
    per_day = days.subquery("days")
    bucket = period(connection.dialect.name, kind, per_day.c.bucket).label("bucket")
    return cost_sums(per_day, bucket, priced_jobs=func.sum(per_day.c.priced_jobs))


def cost_sums(
    rows: FromClause, bucket: ColumnElement[Any], *, priced_jobs: ColumnElement[Any]
) -> Select[Any]:
    """(bucket, priced jobs, filament cost, machine cost) per ``bucket`` of ``rows``, the
    row of every cost statistic: ``priced_jobs`` sums the rollups' counts or counts the
    jobs' filament costs, whichever ``rows`` hold."""
    filament, machine = func.sum(rows.c.filament_cost), func.sum(rows.c.machine_cost)
    return select(bucket, priced_jobs, filament, machine).group_by(bucket)
