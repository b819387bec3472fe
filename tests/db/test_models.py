"""Constraints and round trips that the database itself must guarantee, on both dialects."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gql_server.db.models import JobDetails, JobTotals, MetadataDocument, Printer, PrintJob
from gql_server.db.session import Database
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.totals import recompute_totals
from tests.factories import make_job_row, make_printer


def _count(database: Database, model: type) -> int:
    with database.scope() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_deleting_a_printer_removes_its_jobs_details_and_totals(database: Database) -> None:
    with database.scope() as session:
        doomed = make_printer(session, "doomed")
        kept = make_printer(session, "kept")
        for printer in (doomed, kept):
            result = upsert_jobs(session, printer.id, [make_job_row(i) for i in range(3)])
            details = [{"print_job_id": row_id} for row_id in result.ids.values()]
            upsert_details(session, details)
        recompute_totals(session, [doomed.id, kept.id])
        doomed_id = doomed.id
    with database.scope() as session:
        session.delete(session.get(Printer, doomed_id))

    assert (_count(database, PrintJob), _count(database, JobDetails)) == (3, 3)
    assert _count(database, JobTotals) == 1


def test_printer_table_refuses_a_duplicate_name(database: Database) -> None:
    with database.scope() as session:
        session.add(Printer(name="twin", moonraker_url="http://a"))
    with pytest.raises(IntegrityError, match=r"(?i)name"), database.scope() as session:
        session.add(Printer(name="twin", moonraker_url="http://b"))
    assert _count(database, Printer) == 1


def test_a_second_row_for_the_same_job_of_a_printer_is_refused(database: Database) -> None:
    row = make_job_row(1)
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [row])
    with pytest.raises(IntegrityError, match=r"(?i)job_id"), database.scope() as session:
        session.add(
            PrintJob(
                printer_id=printer_id,
                job_id=row["job_id"],
                start_time=row["start_time"],
                filename="other.gcode",
                status="completed",
            )
        )
    assert _count(database, PrintJob) == 1


def test_a_reused_job_id_with_another_start_time_is_a_second_job(database: Database) -> None:
    """Moonraker restarts ids at 000001 after a history reset: both jobs are kept."""
    old = make_job_row(1, filename="old.gcode")
    new = make_job_row(1, filename="new.gcode", start_time=datetime(2026, 6, 1, tzinfo=UTC))
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [old])
        upsert_jobs(session, printer_id, [new])
    with database.scope() as session:
        names = session.scalars(select(PrintJob.filename).order_by(PrintJob.start_time)).all()
    assert names == ["old.gcode", "new.gcode"]


def test_nested_non_ascii_json_round_trips(database: Database) -> None:
    metadata = {
        "slicer": "PrusaSlicer",
        "filament_name": "Prusament PLA Galaxy Black — ünïcødé 日本語 🚀",
        "thumbnails": [{"width": 32, "relative_path": ".thumbs/Würfel-32x32.png"}],
        "nested": {"deeper": {"list": [1, 2.5, None, True, "x"]}},
    }
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1, job_metadata=metadata)])
    with database.scope() as session:
        stored = session.scalar(select(MetadataDocument.document))
    assert stored == metadata


def test_timestamps_keep_microseconds(database: Database) -> None:
    start = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    with database.scope() as session:
        printer = make_printer(session)
        upsert_jobs(session, printer.id, [make_job_row(1, start_time=start)])
        printer.last_seen = datetime(2026, 3, 4, 5, 6, 7, 1, tzinfo=UTC)
    with database.scope() as session:
        job = session.scalars(select(PrintJob)).one()
        last_seen = session.scalar(select(Printer.last_seen))
    assert job.start_time == start
    assert job.start_time.tzinfo is UTC
    assert last_seen is not None and last_seen.microsecond == 1
    assert job.created_at.tzinfo is UTC
