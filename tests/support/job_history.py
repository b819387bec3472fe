"""A small history of several printers whose job orderings have NULLs and ties in every
nullable key: what keyset pages by each ``JobOrderField`` must get right."""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from gql_server.db.models import PrintJob
from gql_server.db.session import Database
from gql_server.services.jobs import upsert_jobs
from tests.factories import make_job_row, make_printer


@dataclass(frozen=True, slots=True)
class StoredJob:
    id: int
    printer_id: int
    status: str
    start_time: datetime
    end_time: datetime | None
    total_duration: float | None
    filament_used: float | None

    def value(self, column: str) -> Any:
        return getattr(self, column)


def _job(index: int, printer_number: int) -> dict[str, Any]:
    """Every fourth job cancelled. Start times are unique across the farm; end times
    repeat across printers; some end times, durations and lengths are NULL, and lengths
    repeat (the same file printed again)."""
    row = make_job_row(index)
    return make_job_row(
        index,
        status="cancelled" if index % 4 == 0 else "completed",
        start_time=row["start_time"] + timedelta(minutes=printer_number),
        end_time=None if index % 7 == 3 else row["end_time"],
        total_duration=None if index % 5 == 1 else 600.5 + index,
        filament_used=None if index % 9 == 2 else 1000.0 + index % 11,
    )


def seed_history(database: Database, *, printers: int, jobs: int) -> list[StoredJob]:
    """``printers`` printers of ``jobs`` jobs each, read back as the database holds them."""
    with database.scope() as session:
        for number in range(printers):
            printer_id = make_printer(session, f"printer-{number}").id
            upsert_jobs(session, printer_id, [_job(index, number) for index in range(jobs)])
    with database.scope() as session:
        columns = [getattr(PrintJob, f.name) for f in fields(StoredJob)]
        return [StoredJob(*row) for row in session.execute(select(*columns))]
