"""The SQL that turns rows into statistics buckets, shared by the raw jobs and the
rollups (services/stats.py, services/rollups/reads.py): one rule for every answer."""

from typing import Any

from sqlalchemy import Select, Subquery, case, func, select

from gql_server.db.folding import BINARY_COLLATION

COMPLETED = "completed"
UNFINISHED = "in_progress"
CALENDAR_KINDS = ("day", "week", "month")


def period(dialect: str, kind: str, local: Any) -> Any:
    """The first day of the day, ISO week (from Monday) or month of ``local``, a local
    timestamp or date."""
    if dialect == "sqlite":
        if kind == "day":
            return func.date(local)
        if kind == "week":
            return func.date(local, "weekday 0", "-6 days")  # the Monday of its ISO week
        return func.strftime("%Y-%m-01", local)
    if kind == "day":
        return func.date(local)
    if kind == "week":
        return func.subdate(func.date(local), func.weekday(local))
    return func.date_format(local, "%Y-%m-01")


def shown_filament_type(dialect: str, column: Any) -> Any:
    """The spelling a filament bucket shows: the first in binary order ("PLA" before
    "pla"), the same on both databases (MariaDB's MIN would follow its case-blind
    collation and pick either)."""
    if dialect != "sqlite":
        column = column.collate(BINARY_COLLATION)
    return func.min(column)


def job_counts(status: Any, jobs: Any) -> tuple[Any, Any]:
    """Of ``jobs`` jobs with status ``status``: (completed, finished) as SQL."""
    completed = case((status == COMPLETED, jobs), else_=0)
    finished = case((status != UNFINISHED, jobs), else_=0)
    return completed, finished


def aggregate(dialect: str, rows: Subquery) -> Select[Any]:
    """One row per bucket of ``rows`` (bucket, filament_type, jobs, completed, finished,
    print_time, total_time, filament_used: how many jobs a row stands for, how many of
    them completed and finished, and their sums), in bucket order: bucket, shown
    filament type, jobs, completed, finished and the three sums (NULL counts as 0).

    Grouping by the subquery's plain column keeps MySQL's ONLY_FULL_GROUP_BY from seeing
    two copies of a parameterised bucket expression."""
    return (
        select(
            rows.c.bucket,
            shown_filament_type(dialect, rows.c.filament_type),
            func.sum(rows.c.jobs),
            func.sum(rows.c.completed),
            func.sum(rows.c.finished),
            func.coalesce(func.sum(rows.c.print_time), 0),
            func.coalesce(func.sum(rows.c.total_time), 0),
            func.coalesce(func.sum(rows.c.filament_used), 0),
        )
        .group_by(rows.c.bucket)
        .order_by(rows.c.bucket)
    )
