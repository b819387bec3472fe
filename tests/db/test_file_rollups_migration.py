"""Migration 0014 fills the per-file rollups from the jobs already stored; its downgrade
drops them and leaves the jobs."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import migrate_to
from gql_server.db.models import PrintFilePrinter, PrintFileTotal
from gql_server.db.session import Database
from gql_server.db.types import as_utc
from tests.conftest import MYSQL_URL, drop_mysql_database, recreate_mysql_database, require_mysql
from tests.db.test_rollups_migration import BEFORE, JOBS, add_rows

REVISION = "0014"
DB_SUFFIX = "_file_rollups_migration"


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database holding jobs written before the file rollups, upgraded to 0014."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    else:
        require_mysql(MYSQL_URL)
        url = MYSQL_URL + DB_SUFFIX
        recreate_mysql_database(url)
    engine = create_db_engine(url)
    try:
        migrate_to(engine, BEFORE)
        add_rows(engine)
        migrate_to(engine, REVISION)
        yield engine
    finally:
        engine.dispose()
        if request.param == "mariadb":
            drop_mysql_database(url)


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
