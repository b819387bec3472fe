"""A small farm for the files and estimates tests: each job written as the import
writes it (jobs, then details with the slicer's estimate and the filament type)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from gql_server.db.models import PrintFile
from gql_server.db.session import Database
from gql_server.services import jobs
from tests.factories import make_job_row, make_printer

T0 = datetime(2025, 6, 1, 8, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    printer: str
    job_id: str
    filename: str
    status: str
    hour: int
    print_duration: float | None
    filament_used: float | None
    estimated_time: int | None = None
    filament_type: str | None = None
    slicer: str | None = "PrusaSlicer"

    @property
    def start(self) -> datetime:
        return T0 + timedelta(hours=self.hour)


# benchy on three printers; cube with a job in progress; vase without a filament type
# and with id 000001 reused after a history reset; a file whose jobs all failed.
JOBS = [
    Job("p1", "000001", "benchy.gcode", "completed", 1, 1000.0, 500.0, 900, "PLA"),
    Job("p1", "000002", "benchy.gcode", "cancelled", 2, 300.0, 120.0, 900, "PLA"),
    Job("p2", "000001", "benchy.gcode", "completed", 3, 1100.0, 510.0, 1000, "PETG", "OrcaSlicer"),
    Job("p3", "000001", "benchy.gcode", "completed", 4, 800.0, 505.0, 1000, "pla", "OrcaSlicer"),
    Job("p1", "000003", "cube.gcode", "completed", 5, 2000.0, 800.0, 2500, "PLA"),
    Job("p1", "000004", "cube.gcode", "in_progress", 30, None, None, 2500, "PLA"),
    Job("p2", "000002", "vase.gcode", "completed", 6, 4000.0, 2000.0, 3000, None, None),
    Job("p2", "000001", "vase.gcode", "completed", 20, 3500.0, 2100.0, None, None, None),
    Job("p3", "000002", "fail.gcode", "error", 7, 100.0, 50.0, 1000, "ABS"),
    Job("p3", "000003", "fail.gcode", "cancelled", 8, 90.0, None, 0, "ABS"),
]


@dataclass(frozen=True)
class Farm:
    printers: dict[str, int]
    files: dict[str, int]


def seed_farm(database: Database, rows: Sequence[Job] = JOBS) -> Farm:
    with database.scope() as session:
        printers = {name: make_printer(session, name).id for name in ("p1", "p2", "p3")}
    for name, printer_id in printers.items():
        mine = [job for job in rows if job.printer == name]
        with database.scope() as session:
            result = jobs.upsert_jobs(session, printer_id, [_row(job) for job in mine])
            details = [
                {
                    "print_job_id": result.ids[(job.job_id, job.start)],
                    "estimated_time": job.estimated_time,
                    "filament_type": job.filament_type,
                }
                for job in mine
            ]
            jobs.upsert_details(session, details)
    with database.scope() as session:
        files = {
            name: file_id
            for name, file_id in session.execute(select(PrintFile.filename, PrintFile.id))
        }
    return Farm(printers, files)


def _row(job: Job) -> dict[str, Any]:
    metadata = {"estimated_time": job.estimated_time}
    if job.slicer is not None:
        metadata["slicer"] = job.slicer
    return make_job_row(
        job.hour,
        job_id=job.job_id,
        filename=job.filename,
        status=job.status,
        start_time=job.start,
        end_time=None if job.status == "in_progress" else job.start + timedelta(hours=1),
        print_duration=job.print_duration,
        filament_used=job.filament_used,
        job_metadata=metadata,
    )
