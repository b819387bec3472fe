"""Per-printer totals over completed jobs, computed by the database in one statement."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, func, literal, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from gql_server.db.models import JobTotals, Printer, PrintJob
from gql_server.db.types import utcnow

COMPLETED = "completed"
TOTAL_COLUMNS = (
    "total_jobs",
    "total_time",
    "total_print_time",
    "total_filament_used",
    "longest_job",
    "last_updated",
)


def _aggregate(printer_ids: Sequence[int]) -> Select:
    """One row per printer, zeros for a printer with no completed job (LEFT JOIN)."""
    completed = and_(PrintJob.printer_id == Printer.id, PrintJob.status == COMPLETED)
    return (
        select(
            Printer.id.label("printer_id"),
            func.count(PrintJob.id).label("total_jobs"),
            func.coalesce(func.sum(func.coalesce(PrintJob.total_duration, 0)), 0).label(
                "total_time"
            ),
            func.coalesce(func.sum(func.coalesce(PrintJob.print_duration, 0)), 0).label(
                "total_print_time"
            ),
            func.coalesce(func.sum(func.coalesce(PrintJob.filament_used, 0)), 0).label(
                "total_filament_used"
            ),
            func.coalesce(func.max(func.coalesce(PrintJob.total_duration, 0)), 0).label(
                "longest_job"
            ),
            literal(utcnow(), JobTotals.last_updated.type).label("last_updated"),
        )
        .select_from(Printer)
        .outerjoin(PrintJob, completed)
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
        stmt = sqlite.insert(JobTotals).from_select(columns, aggregate)
        stmt = stmt.on_conflict_do_update(
            index_elements=["printer_id"],
            set_={name: stmt.excluded[name] for name in TOTAL_COLUMNS},
        )
    else:
        # MySQL 8 deprecates VALUES() and forbids the row alias with INSERT … SELECT;
        # naming the derived table works on MySQL and MariaDB alike.
        derived = aggregate.subquery("agg")
        stmt = mysql.insert(JobTotals).from_select(columns, select(derived))
        stmt = stmt.on_duplicate_key_update({name: derived.c[name] for name in TOTAL_COLUMNS})
    session.execute(stmt)


def get_totals(session: Session, printer_id: int) -> JobTotals | None:
    return session.scalar(select(JobTotals).where(JobTotals.printer_id == printer_id))


def store_moonraker_totals(
    session: Session, printer_id: int, reported: dict, now: datetime
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
    return float(value) if isinstance(value, int | float) else None


def _int(value: object) -> int | None:
    # Moonraker reports total_jobs as a float (197.0).
    return round(value) if isinstance(value, int | float) else None
