"""Per-printer totals, computed by the database in one statement.

Two sets: ours, over completed jobs, and the same figures counted Moonraker's way, over
every job it counts in its own totals, so the two can be compared like with like.
"""

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Double,
    Integer,
    Select,
    Update,
    bindparam,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter

from gql_server.db.models import JobTotals, Printer, PrintJob
from gql_server.db.tables import JOB_TOTALS
from gql_server.db.types import utcnow

COMPLETED = "completed"
# Moonraker adds a job to its totals when the job finishes, whatever the status
# (history.py finish_job → _update_job_totals): completed, cancelled, error,
# klippy_shutdown, klippy_disconnect, server_exit. A job still printing is not counted
# yet, and one left in_progress by a Moonraker restart becomes "interrupted" without
# ever being counted.
NOT_COUNTED_BY_MOONRAKER = ("in_progress", "interrupted")
# The statuses a job can move out of without leaving either set of figures: a job
# arriving from them adds to the totals and subtracts nothing (``add_job``).
UNCOUNTED_BEFORE = (None, *NOT_COUNTED_BY_MOONRAKER)
# Statuses whose membership Python decides exactly as both databases do (MariaDB's
# collation ignores case and trailing spaces); any other goes through a recompute.
KNOWN_STATUSES = (
    COMPLETED,
    "cancelled",
    "error",
    "klippy_shutdown",
    "klippy_disconnect",
    "server_exit",
    *NOT_COUNTED_BY_MOONRAKER,
)
# The job's own figure behind each summed column, per set; the longest is kept apart.
SUMMED = {
    "time": "total_duration",
    "print_time": "print_duration",
    "filament_used": "filament_used",
}
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


def add_job(
    session: Session, printer_id: int, *, before: str | None, job: Mapping[str, Any]
) -> None:
    """The totals after one job of the printer was written with ``job``'s values
    (``status`` and the three durations), having had status ``before`` (None: a new row).

    A job that was in neither set of figures only adds to them: one UPDATE of the
    printer's row, whatever its history, instead of ``recompute_totals`` over every job.
    Anything else (a counted job rewritten, an unknown status, no totals row yet) is
    recomputed. The result is the recompute's, sums apart: they are added in the order
    the jobs arrive, as a SUM adds them in the order it reads the rows.
    """
    status = job["status"]
    if before not in UNCOUNTED_BEFORE or status not in KNOWN_STATUSES:
        recompute_totals(session, [printer_id])
        return
    values = {"key_printer_id": printer_id, "now": utcnow()}
    values.update(_added(job, "total", counted=status == COMPLETED))
    values.update(_added(job, "finished", counted=status not in NOT_COUNTED_BY_MOONRAKER))
    result = session.connection().execute(ADD_JOB, values)
    if cast(CursorResult[Any], result).rowcount != 1:
        recompute_totals(session, [printer_id])


def _add_job_statement() -> Update:
    """Built once, with parameters only: each set's count, sums and longest grow by what
    the parameters say (0 and NULL for a set the job is not in; a longest compared with
    NULL stays as it was)."""
    table = JOB_TOTALS
    values: dict[str, Any] = {"last_updated": bindparam("now", type_=table.c.last_updated.type)}
    for prefix, count, longest in (
        ("total", "total_jobs", "longest_job"),
        ("finished", "finished_jobs", "longest_finished_job"),
    ):
        values[count] = table.c[count] + bindparam(f"{prefix}_count", type_=Integer())
        for suffix in SUMMED:
            name = f"{prefix}_{suffix}"
            values[name] = table.c[name] + bindparam(name, type_=Double())
        duration: BindParameter[float] = bindparam(f"{prefix}_longest", type_=Double())
        values[longest] = case((table.c[longest] < duration, duration), else_=table.c[longest])
    return update(table).where(table.c.printer_id == bindparam("key_printer_id")).values(values)


ADD_JOB = _add_job_statement()


def _added(job: Mapping[str, Any], prefix: str, *, counted: bool) -> dict[str, Any]:
    """The parameters of one set: NULL figures count as 0, as in the recompute."""
    if not counted:
        values: dict[str, Any] = {f"{prefix}_count": 0, f"{prefix}_longest": None}
        values.update({f"{prefix}_{suffix}": 0.0 for suffix in SUMMED})
        return values
    values = {f"{prefix}_count": 1, f"{prefix}_longest": job["total_duration"] or 0.0}
    values.update({f"{prefix}_{suffix}": job[figure] or 0.0 for suffix, figure in SUMMED.items()})
    return values


def get_totals(session: Session, printer_id: int) -> JobTotals | None:
    return session.scalar(select(JobTotals).where(JobTotals.printer_id == printer_id))
