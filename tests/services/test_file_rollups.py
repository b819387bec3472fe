"""The per-file rollups equal the jobs: after new jobs, a file printed on several
printers, a reused job id, a job finishing, a job renamed to another file, a deleted
printer and a rebuild; and they are what ``files`` reads."""

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.db.models import PrintFilePrinter, PrintFileTotal, PrintJob
from gql_server.db.session import Database
from gql_server.db.types import as_utc
from gql_server.services import jobs
from gql_server.services.printers import delete_printer
from gql_server.services.rollups.rebuild import rebuild
from tests.factories import make_job_row, make_printer
from tests.support.sql_counter import count_statements

T0 = datetime(2025, 5, 1, 8, tzinfo=UTC)
Figures = tuple[int, int, int, float, float, datetime]


def _expected(session: Session) -> tuple[dict[Any, Figures], dict[Any, Figures]]:
    """Both levels computed here from the jobs' rows."""
    rows = session.execute(
        select(
            PrintJob.file_id,
            PrintJob.printer_id,
            PrintJob.status,
            PrintJob.print_duration,
            PrintJob.filament_used,
            PrintJob.start_time,
        )
    ).all()
    per_printer: dict[Any, list[Any]] = defaultdict(list)
    per_file: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        per_printer[(row.file_id, row.printer_id)].append(row)
        per_file[(row.file_id,)].append(row)
    return _figures(per_printer), _figures(per_file)


def _figures(groups: dict[Any, list[Any]]) -> dict[Any, Figures]:
    found = {}
    for key, rows in groups.items():
        completed = [r for r in rows if r.status == "completed"]
        found[key] = (
            len(rows),
            len(completed),
            sum(1 for r in rows if r.status != "in_progress"),
            sum(r.print_duration or 0.0 for r in completed),
            sum(r.filament_used or 0.0 for r in rows),
            max(as_utc(r.start_time) for r in rows),
        )
    return found


def _stored(session: Session) -> tuple[dict[Any, Figures], dict[Any, Figures]]:
    def figures(row: Any) -> Figures:
        return (
            row.job_count,
            row.completed_count,
            row.finished_count,
            row.completed_print_time,
            row.filament_used,
            as_utc(row.last_start),
        )

    per_printer = {
        (r.file_id, r.printer_id): figures(r) for r in session.scalars(select(PrintFilePrinter))
    }
    per_file = {(r.file_id,): figures(r) for r in session.scalars(select(PrintFileTotal))}
    return per_printer, per_file


def _same(a: dict[Any, Figures], b: dict[Any, Figures]) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        for x, y in zip(a[key], b[key], strict=True):
            if isinstance(x, float) and not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6):
                return False
            if not isinstance(x, float) and x != y:
                return False
    return True


def _assert_rollups_equal_jobs(database: Database) -> None:
    with database.scope() as session:
        expected, stored = _expected(session), _stored(session)
        assert _same(stored[0], expected[0]), (stored[0], expected[0])
        assert _same(stored[1], expected[1]), (stored[1], expected[1])
        for total in session.scalars(select(PrintFileTotal)):
            rate = (
                None if total.finished_count == 0 else total.completed_count / total.finished_count
            )
            assert total.success_rate == rate or math.isclose(total.success_rate or 0, rate or 0)


def _job(index: int, filename: str, **overrides: Any) -> dict[str, Any]:
    return make_job_row(
        index, filename=filename, start_time=T0 + timedelta(hours=index), **overrides
    )


def test_file_rollups_follow_new_finished_reused_renamed_and_deleted_jobs(
    database: Database,
) -> None:
    with database.scope() as session:
        first, second = make_printer(session, "p1").id, make_printer(session, "p2").id
    with database.scope() as session:
        jobs.upsert_jobs(
            session,
            first,
            [
                _job(1, "benchy.gcode"),
                _job(2, "benchy.gcode", status="cancelled"),
                _job(3, "cube.gcode", status="in_progress", print_duration=None),
                _job(4, "cube.gcode", filament_used=None),
            ],
        )
        jobs.upsert_jobs(session, second, [_job(5, "benchy.gcode", status="error")])
    _assert_rollups_equal_jobs(database)

    with database.scope() as session:
        # The job in progress finishes (same key, new values), and the newest job of
        # cube.gcode is renamed: its newest start goes back to the job that finished.
        jobs.upsert_jobs(
            session,
            first,
            [
                _job(3, "cube.gcode", status="completed", print_duration=42.5),
                _job(4, "benchy.gcode", filament_used=None),
            ],
        )
    _assert_rollups_equal_jobs(database)
    with database.scope() as session:
        newest = sorted(as_utc(t.last_start) for t in session.scalars(select(PrintFileTotal)))
        assert newest == [T0 + timedelta(hours=3), T0 + timedelta(hours=5)]

    with database.scope() as session:
        # After a history reset Moonraker's id 000001 names a new job at a new start.
        jobs.upsert_jobs(session, first, [_job(9, "cube.gcode", job_id="000001")])
    _assert_rollups_equal_jobs(database)
    with database.scope() as session:
        reused = session.scalars(select(PrintJob.id).where(PrintJob.job_id == "000001")).all()
        assert len(reused) == 2

    with database.scope() as session:
        delete_printer(session, second)
    _assert_rollups_equal_jobs(database)

    with database.scope() as session:
        maintained = _stored(session)
        rebuild(session.connection(), "UTC")
    with database.scope() as session:
        rebuilt = _stored(session)
    assert _same(maintained[0], rebuilt[0])
    assert _same(maintained[1], rebuilt[1])


def test_a_batch_costs_the_same_statements_for_its_files_however_many(
    database: Database,
) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id

    def statements(offset: int, files: int) -> int:
        rows = [_job(offset + i, f"f{offset + i % files}.gcode") for i in range(10)]
        with database.scope() as session, count_statements(database.engine) as log:
            jobs.upsert_jobs(session, printer_id, rows)
        return log.count

    assert statements(0, 1) == statements(100, 10)
