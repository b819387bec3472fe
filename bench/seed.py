"""Seed a database with a synthetic fleet for the benchmarks (not used by tests)."""

from datetime import UTC, datetime, timedelta

from gql_server.db.session import Database
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.printers import create_printer
from gql_server.services.totals import recompute_totals

STATUSES = ("completed", "completed", "completed", "cancelled", "error")
FILAMENTS = ("PLA", "PETG", "ABS", "ASA", "TPU")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def job_row(printer: int, index: int) -> dict:
    start = EPOCH + timedelta(hours=index * 7 + printer, seconds=index)
    return {
        "job_id": f"{index + 1:06X}",
        "user": "No User",
        "filename": f"printer{printer}/part_{index}.gcode",
        "status": STATUSES[index % len(STATUSES)],
        "start_time": start,
        "end_time": start + timedelta(seconds=3600 + index),
        "print_duration": 3000.5 + index,
        "total_duration": 3600.25 + index,
        "filament_used": 1234.5 + index,
        "job_metadata": {"slicer": "PrusaSlicer", "layer_height": 0.2, "estimated_time": 3000},
        "auxiliary_data": [],
    }


def seed_fleet(database: Database, printers: int = 50, jobs: int = 200) -> None:
    with database.scope() as session:
        ids = []
        for p in range(printers):
            printer = create_printer(
                session, name=f"printer-{p:02d}", moonraker_url=f"http://10.0.0.{p}:7125"
            )
            ids.append(printer.id)
            result = upsert_jobs(session, printer.id, [job_row(p, j) for j in range(jobs)])
            details = [
                {"print_job_id": job_id, "filament_type": FILAMENTS[n % 5], "layer_height": 0.2}
                for n, job_id in enumerate(result.ids.values())
            ]
            upsert_details(session, details)
        recompute_totals(session, ids)
