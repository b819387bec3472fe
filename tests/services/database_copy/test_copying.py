"""Copying into each database: an interrupted copy resumes where its last batch
committed, and verification notices a changed value."""

from collections.abc import Iterator
from math import nextafter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.models import Base, PrintJob
from gql_server.db.session import Database
from gql_server.services import jobs
from gql_server.services.database_copy import progress_table
from gql_server.services.database_copy.copying import copy_database, verify
from gql_server.services.database_copy.errors import CopyRefused
from tests.factories import make_job_row, make_printer

JOBS = 40
BATCH = 6


class Interrupted(Exception):
    pass


@pytest.fixture(autouse=True)
def no_progress_left(database: Database) -> Iterator[None]:
    """MariaDB's test database is shared by the tests of a process: a copy a failing
    test left unfinished must not be resumed by the next one."""
    yield
    progress_table.drop(database.engine)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'source.db'}")
    upgrade_to_head(engine)
    database = Database(engine)
    with database.scope() as session:
        printer = make_printer(session, "voron-1", moonraker_api_key="k" * 32)
        session.flush()
        jobs.upsert_jobs(session, printer.id, [make_job_row(i) for i in range(JOBS)])
    yield engine
    engine.dispose()


def rows_of(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def stop_after(batches: int) -> Any:
    """A progress report that interrupts the copy once ``batches`` of print_jobs are in."""

    def report(table: str, copied: int, _total: int, _finished: bool) -> None:
        if table == PrintJob.__tablename__ and copied >= batches * BATCH:
            raise Interrupted

    return report


def ignore(*_args: Any) -> None:
    return None


def test_an_interrupted_copy_resumes_after_its_last_committed_batch(
    source: Engine, database: Database
) -> None:
    with pytest.raises(Interrupted):
        copy_database(
            source, database.engine, source_label="farm", batch_size=BATCH, report=stop_after(3)
        )
    with database.scope() as session:
        assert session.scalar(select(func.count()).select_from(PrintJob)) == 3 * BATCH

    result = copy_database(
        source, database.engine, source_label="farm", batch_size=BATCH, report=ignore
    )

    assert (result.resumed, result.same) == (True, True)
    assert rows_of(database.engine) == rows_of(source)


def test_verification_notices_a_float_changed_in_its_last_bit(
    source: Engine, database: Database
) -> None:
    copy_database(source, database.engine, source_label="farm", batch_size=BATCH, report=ignore)
    with database.scope() as session:
        job = session.scalars(select(PrintJob).order_by(PrintJob.id).limit(1)).one()
        assert job.filament_used is not None
        changed = nextafter(job.filament_used, 0.0)
        session.execute(update(PrintJob).where(PrintJob.id == job.id).values(filament_used=changed))

    checks = {check.table: check for check in verify(source, database.engine)}

    assert not checks["print_jobs"].same
    assert checks["print_jobs"].source.rows == checks["print_jobs"].target.rows
    assert all(check.same for name, check in checks.items() if name != "print_jobs")


def test_an_interrupted_copy_is_not_resumed_from_another_source(
    source: Engine, database: Database
) -> None:
    with pytest.raises(Interrupted):
        copy_database(
            source, database.engine, source_label="farm", batch_size=BATCH, report=stop_after(1)
        )

    with pytest.raises(CopyRefused) as refused:
        copy_database(source, database.engine, source_label="elsewhere", report=ignore)

    assert refused.value.code == "RESUME_FROM_OTHER_SOURCE"
    assert "unfinished copy from farm" in refused.value.message
    copy_database(source, database.engine, source_label="elsewhere", force=True, report=ignore)
    assert rows_of(database.engine) == rows_of(source)
