"""Moonraker's own running totals, kept beside ours so the API can show the difference."""

import math
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update
from sqlalchemy.orm import Session

from gql_server.db.models import JobTotals

COLUMNS = (
    "moonraker_total_jobs",
    "moonraker_total_time",
    "moonraker_total_print_time",
    "moonraker_total_filament_used",
    "moonraker_longest_job",
    "moonraker_reported_at",
)


def store_moonraker_totals(
    session: Session, printer_id: int, reported: dict[str, Any], now: datetime
) -> None:
    """``reported`` is the ``job_totals`` of Moonraker's ``/server/history/totals``. The
    printer's totals row must exist: run it after ``recompute_totals``."""
    session.connection().execute(
        STORE,
        {
            "key_printer_id": printer_id,
            "moonraker_total_jobs": _int(reported.get("total_jobs")),
            "moonraker_total_time": _float(reported.get("total_time")),
            "moonraker_total_print_time": _float(reported.get("total_print_time")),
            "moonraker_total_filament_used": _float(reported.get("total_filament_used")),
            "moonraker_longest_job": _float(reported.get("longest_job")),
            "moonraker_reported_at": now,
        },
    )


def _store_statement() -> Update:
    """Built once: live mode stores them for every finished job."""
    table = cast(Table, JobTotals.__table__)
    return (
        update(table)
        .where(table.c.printer_id == bindparam("key_printer_id"))
        .values({name: bindparam(name, type_=table.c[name].type) for name in COLUMNS})
    )


STORE = _store_statement()


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
