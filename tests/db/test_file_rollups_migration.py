"""Migration 0014 fills the per-file rollups from the jobs already stored; its downgrade
drops them and leaves the jobs."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from gql_server.db.migrate import migrate_to
from gql_server.db.models import PrintFilePrinter, PrintFileTotal
from gql_server.db.session import Database
from gql_server.db.types import as_utc
from tests.db.conftest import BOTH_DATABASES, database_at
from tests.db.test_rollups_migration import BEFORE, JOBS, add_rows

REVISION = "0014"


@pytest.fixture(params=BOTH_DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database holding jobs written before the file rollups, upgraded to 0014."""
    with database_at(request.param, tmp_path, BEFORE) as engine:
        add_rows(engine)
        migrate_to(engine, REVISION)
        yield engine


def test_upgrade_sums_the_stored_jobs_per_file(engine: Engine) -> None:
    statuses = [status for _, status, _ in JOBS]
    completed = statuses.count("completed")
    finished = sum(1 for status in statuses if status != "in_progress")
    newest = max(datetime.fromisoformat(start).replace(tzinfo=UTC) for start, _, _ in JOBS)
    with Database(engine).scope() as session:
        (total,) = session.scalars(select(PrintFileTotal)).all()
        (per_printer,) = session.scalars(select(PrintFilePrinter)).all()
        for row in (total, per_printer):
            assert (row.job_count, row.completed_count, row.finished_count) == (
                len(JOBS),
                completed,
                finished,
            )
            assert row.completed_print_time == pytest.approx(90.25 * completed)
            assert row.filament_used == pytest.approx(10.0 * len(JOBS))
            assert as_utc(row.last_start) == newest
        assert total.success_rate == pytest.approx(completed / finished)


def test_downgrade_drops_the_file_rollups_and_keeps_the_jobs(engine: Engine) -> None:
    migrate_to(engine, "0013", downgrade=True)
    tables = set(inspect(engine).get_table_names())
    assert tables.isdisjoint({"print_file_totals", "print_file_printers"})
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM print_jobs")).scalar() == len(JOBS)
    migrate_to(engine, REVISION)
