"""Per-printer totals, computed by the database in one statement.

Two sets: ours, over completed jobs, and the same figures counted Moonraker's way, over
every job it counts in its own totals, so the two can be compared like with like.
"""

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from gql_server.db.models import JobTotals, Printer, PrintJob
from gql_server.db.types import utcnow

COMPLETED = "completed"
# Moonraker adds a job to its totals when the job finishes, whatever the status
# (history.py finish_job → _update_job_totals): completed, cancelled, error,
# klippy_shutdown, klippy_disconnect, server_exit. A job still printing is not counted
# yet, and one left in_progress by a Moonraker restart becomes "interrupted" without
# ever being counted.
NOT_COUNTED_BY_MOONRAKER = ("in_progress", "interrupted")
TOTAL_COLUMNS = (
    "total_jobs",
    "total_time",
    "total_print_time",
    "total_filament_used",
    "longest_job",
    "finished_jobs",
    "finished_time",
    "finished_print_time",
    "finished_filament_used",
    "longest_finished_job",
    "last_updated",
)


def _figures(counted: ColumnElement[bool], prefix: str, longest: str) -> list[Any]:
    """Count, sums and longest duration over the jobs ``counted`` selects; NULL
    durations count as 0, as Moonraker stores them."""

    def only(column: Any) -> Any:
        return case((counted, func.coalesce(column, 0)), else_=0)

    return [
        func.count(case((counted, PrintJob.id))).label(f"{prefix}_jobs"),
        func.coalesce(func.sum(only(PrintJob.total_duration)), 0).label(f"{prefix}_time"),
        func.coalesce(func.sum(only(PrintJob.print_duration)), 0).label(f"{prefix}_print_time"),
        func.coalesce(func.sum(only(PrintJob.filament_used)), 0).label(f"{prefix}_filament_used"),
        func.coalesce(func.max(only(PrintJob.total_duration)), 0).label(longest),
    ]


def _aggregate(printer_ids: Sequence[int]) -> Select[Any]:
    """One row per printer, zeros for a printer without jobs (LEFT JOIN)."""
    completed = PrintJob.status == COMPLETED
    finished = PrintJob.status.not_in(NOT_COUNTED_BY_MOONRAKER)
    return (
        select(
            Printer.id.label("printer_id"),
            *_figures(completed, "total", "longest_job"),
            *_figures(finished, "finished", "longest_finished_job"),
            literal(utcnow(), JobTotals.last_updated.type).label("last_updated"),
        )
        .select_from(Printer)
        .outerjoin(PrintJob, PrintJob.printer_id == Printer.id)
        .where(Printer.id.in_(list(printer_ids)))
        .group_by(Printer.id)
    )


def recompute_totals(session: Session, printer_ids: Sequence[int]) -> None:
    """``INSERT … SELECT … GROUP BY`` with an upsert: one statement for any number of
    printers, however many jobs they have; nothing is summed in Python."""
    if not printer_ids:
        return
    columns = ["printer_id", *TOTAL_COLUMNS]
    dialect = session.get_bind().dialect.name
    aggregate = _aggregate(printer_ids)
    if dialect == "sqlite":
        sqlite_insert = sqlite.insert(JobTotals).from_select(columns, aggregate)
        stmt: Executable = sqlite_insert.on_conflict_do_update(
            index_elements=["printer_id"],
            set_={name: sqlite_insert.excluded[name] for name in TOTAL_COLUMNS},
        )
    else:
        # MySQL 8 deprecates VALUES() and forbids the row alias with INSERT … SELECT;
        # naming the derived table works on MySQL and MariaDB alike.
        derived = aggregate.subquery("agg")
        mysql_insert = mysql.insert(JobTotals).from_select(columns, select(derived))
        stmt = mysql_insert.on_duplicate_key_update(
            {name: derived.c[name] for name in TOTAL_COLUMNS}
        )
    session.execute(stmt)


def get_totals(session: Session, printer_id: int) -> JobTotals | None:
    return session.scalar(select(JobTotals).where(JobTotals.printer_id == printer_id))


def store_moonraker_totals(
    session: Session, printer_id: int, reported: dict[str, Any], now: datetime
) -> None:
    """Keep Moonraker's own totals beside ours (run after ``recompute_totals``)."""
    session.execute(
        update(JobTotals)
        .where(JobTotals.printer_id == printer_id)
        .values(
            moonraker_total_jobs=_int(reported.get("total_jobs")),
            moonraker_total_time=_float(reported.get("total_time")),
            moonraker_total_print_time=_float(reported.get("total_print_time")),
            moonraker_total_filament_used=_float(reported.get("total_filament_used")),
            moonraker_longest_job=_float(reported.get("longest_job")),
            moonraker_reported_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def _float(value: object) -> float | None:
    # A job's NaN (which Moonraker's JSON carries) makes its sums NaN too; MariaDB refuses
    # NaN and Infinity in a DOUBLE where SQLite stores NULL.
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _int(value: object) -> int | None:
    # Moonraker reports total_jobs as a float (197.0).
    number = _float(value)
    return None if number is None else round(number)
