"""Moonraker's own running totals, kept beside ours so the API can show the difference."""

from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, update
from sqlalchemy.orm import Session

from gql_server.db.tables import JOB_TOTALS
from gql_server.moonraker.parse import parse_totals

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
        {"key_printer_id": printer_id, **parse_totals(reported), "moonraker_reported_at": now},
    )


def _store_statement() -> Update:
    """Built once: live mode stores them for every finished job."""
    table = JOB_TOTALS
    return (
        update(table)
        .where(table.c.printer_id == bindparam("key_printer_id"))
        .values({name: bindparam(name, type_=table.c[name].type) for name in COLUMNS})
    )


STORE = _store_statement()
