"""Migration 0007 moves name uniqueness to the folded name. A SQLite database could hold
names that fold alike; the upgrade keeps every printer and its jobs and renames the
younger ones, so that the unique index can be built."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import DanglingReferencesError, head_revision
from tests.conftest import MYSQL_URL, drop_mysql_database, recreate_mysql_database, require_mysql
from tests.db.test_folded_columns_migration import migrate

NOW = "2026-01-01 00:00:00"


def add_printer(engine: Engine, printer_id: int, name: str, folded: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO printers (id, name, name_folded, moonraker_url, is_active, "
                "created_at, updated_at) VALUES (:id, :name, :folded, 'http://p', 1, :now, :now)"
            ),
            {"id": printer_id, "name": name, "folded": folded, "now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO print_jobs (printer_id, job_id, filename, status, start_time, "
                "created_at, updated_at) VALUES (:id, '000001', 'a.gcode', 'completed', :now, "
                ":now, :now)"
            ),
            {"id": printer_id, "now": NOW},
        )


def _all(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


@pytest.fixture
def sqlite_at_0006(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'names.db'}")
    migrate(engine, "upgrade", "0006")
    yield engine
    engine.dispose()


def test_names_that_fold_alike_are_renamed_and_nothing_is_lost(sqlite_at_0006: Engine) -> None:
    engine = sqlite_at_0006
    for printer_id, name in ((1, "Voron"), (2, "voron"), (3, "VORON "), (4, "voron #2")):
        add_printer(engine, printer_id, name, name.casefold().strip())
    migrate(engine, "upgrade", "0007")
    assert _all(engine, "SELECT id, name, name_folded FROM printers ORDER BY id") == [
        (1, "Voron", "voron"),
        (2, "voron #2-2", "voron #2-2"),  # "voron #2" is printer 4's own name
        (3, "VORON #3", "voron #3"),
        (4, "voron #2", "voron #2"),
    ]
    assert _all(engine, "SELECT printer_id FROM print_jobs ORDER BY printer_id") == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def at_0006(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'names.db'}"
    else:
        require_mysql(MYSQL_URL)
        url = MYSQL_URL + "_names_migration"
        recreate_mysql_database(url)
    engine = create_db_engine(url)
    try:
        migrate(engine, "upgrade", "0006")
        yield engine
    finally:
        engine.dispose()
        if request.param == "mariadb":
            drop_mysql_database(url)


def test_after_the_upgrade_both_databases_refuse_the_same_names(at_0006: Engine) -> None:
    add_printer(at_0006, 1, "José", "josé")
    migrate(at_0006, "upgrade", "0007")
    add_printer(at_0006, 2, "Jose", "jose")  # refused by MariaDB's collation before 0007
    with pytest.raises(IntegrityError):
        add_printer(at_0006, 3, "JOSÉ", "josé")
    assert _all(at_0006, "SELECT name FROM printers ORDER BY id") == [("José",), ("Jose",)]


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("printers", "print_jobs", "job_details", "job_totals")
        }


def test_rebuilding_a_table_on_sqlite_deletes_no_child_rows(sqlite_at_0004: Engine) -> None:
    """Batch mode rebuilds ``printers`` (0005, 0007): with foreign keys enforced during
    the copy, dropping the old table deleted every job through ON DELETE CASCADE."""
    engine = sqlite_at_0004
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO printers (id, name, moonraker_url, is_active, created_at, "
                "updated_at) VALUES (1, 'voron', 'http://p', 1, :now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO print_jobs (id, printer_id, job_id, filename, status, start_time, "
                "created_at, updated_at) VALUES (1, 1, '000001', 'a.gcode', 'completed', :now, "
                ":now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO job_details (print_job_id, created_at, updated_at) "
                "VALUES (1, :now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO job_totals (printer_id, total_jobs, total_time, total_print_time, "
                "total_filament_used, longest_job, last_updated) VALUES (1, 1, 1, 1, 1, 1, :now)"
            ),
            {"now": NOW},
        )
    every_table_once = {"printers": 1, "print_jobs": 1, "job_details": 1, "job_totals": 1}
    migrate(engine, "upgrade", "head")
    assert _counts(engine) == every_table_once
    migrate(engine, "downgrade", "0004")
    assert _counts(engine) == every_table_once
    with engine.connect() as connection:  # enforcement is back for the pool's connections
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.fixture
def sqlite_at_0004(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'children.db'}")
    migrate(engine, "upgrade", "0004")
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return {row[0] for row in _all(engine, "SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_failed_sqlite_migration_leaves_no_table_behind(sqlite_at_0006: Engine) -> None:
    """SQLite only: MariaDB commits every DDL statement. pysqlite opened its transaction
    at the first INSERT, so batch mode's CREATE TABLE _alembic_tmp_printers committed on
    its own; after a failed upgrade that table stayed, and every later `migrate` failed
    with "table _alembic_tmp_printers already exists"."""
    engine = sqlite_at_0006
    add_printer(engine, 1, "voron", "voron")
    with engine.connect() as connection:  # a job whose printer is gone (enforcement off)
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        connection.execute(
            text(
                "INSERT INTO print_jobs (printer_id, job_id, filename, status, start_time, "
                "created_at, updated_at) VALUES (99, '000002', 'b.gcode', 'completed', :now, "
                ":now, :now)"
            ),
            {"now": NOW},
        )
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
    tables_before = _tables(engine)
    with pytest.raises(DanglingReferencesError):
        migrate(engine, "upgrade", "head")
    assert _tables(engine) == tables_before
    assert _all(engine, "SELECT version_num FROM alembic_version") == [("0006",)]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM print_jobs WHERE printer_id = 99"))
    migrate(engine, "upgrade", "head")  # the retry works
    assert _all(engine, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
