"""Print jobs for the export's tests: three printers' jobs with every kind of value."""

from datetime import timedelta
from typing import Any

from gql_server.db.session import Database
from gql_server.services.jobs import job_key, upsert_details, upsert_jobs
from tests.factories import EPOCH, make_job_row, make_printer

STATUSES = ("completed", "cancelled", "error", "completed", "in_progress", "server_exit", "odd")
FILAMENTS = ("PLA", "PETG", "pla", None)
NAMES = (
    "Lüfterabdeckung.gcode",
    'ケース, "quoted"\nline.gcode',
    '=HYPERLINK("http://x").gcode',
    "+1.gcode",
    "-2.gcode",
    "@SUM(A1).gcode",
    "bracket.gcode",
)


def seed_jobs(database: Database, count: int = 300) -> list[int]:
    """Three printers' jobs with every kind of value: nulls in the sort columns, jobs
    without details, statuses GraphQL calls UNKNOWN, texts a spreadsheet would run."""
    printer_ids = []
    with database.scope() as session:
        for p in range(3):
            printer = make_printer(session, name=f"printer-{p}" if p else "=cmd|' /C calc'!A0")
            printer_ids.append(printer.id)
            numbers = range(p, count, 3)
            rows = {n: _job(n) for n in numbers}
            result = upsert_jobs(session, printer.id, list(rows.values()))
            details = [_details(n, result.ids[job_key(rows[n])]) for n in numbers if n % 5 != 4]
            upsert_details(session, details)
    return printer_ids


def _job(n: int) -> dict[str, Any]:
    finished = n % 9 != 0
    return make_job_row(
        n,
        start_time=EPOCH + timedelta(hours=n % 50, seconds=n),  # ties between printers' hours
        end_time=EPOCH + timedelta(hours=n % 50, seconds=600 + n % 7) if finished else None,
        filename=NAMES[n % len(NAMES)].replace(".gcode", f"_{n % 11}.gcode"),
        status=STATUSES[n % len(STATUSES)],
        user="-admin" if n % 6 == 0 else ("Renée" if n % 6 == 1 else None),
        filament_used=None if n % 8 == 0 else -12.5 if n % 13 == 0 else 100.0 + n % 4,
        total_duration=None if n % 10 == 0 else 600.5 + n % 3,
        job_metadata={"slicer": "PrusaSlicer" if n % 3 else "OrcaSlicer"},
    )


def _details(n: int, job_id: int) -> dict[str, Any]:
    return {
        "print_job_id": job_id,
        "filament_type": FILAMENTS[n % len(FILAMENTS)],
        "layer_height": 0.2 if n % 2 else None,
        "nozzle_temp": 215,
        "support_enabled": n % 3 == 0,
        "infill_pattern": "=gyroid" if n % 4 == 0 else "grid",
        "estimated_filament": -1.5 if n % 7 == 0 else 3.25,
    }
