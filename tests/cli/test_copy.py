"""``gql-server copy``: a realistic farm survives SQLite -> MariaDB -> SQLite value for
value, a killed copy resumes without duplicating anything, and a copy refuses what
would lose or mix data."""

import os
import select as io_select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine, func, inspect, select, text

from gql_server.cli import main
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import current_revision, migrate_to, upgrade_to_head
from gql_server.db.models import ApiKey, Base, MetadataDocument, Printer
from gql_server.db.session import Database
from gql_server.services import jobs
from gql_server.services.api_keys import create_api_key
from gql_server.services.sync import Syncer
from tests.conftest import MYSQL_URL, drop_mysql_database, recreate_mysql_database, require_mysql
from tests.factories import EPOCH, TEST_BOX, make_job_row, make_printer
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.sync.conftest import API_KEY, FAST

SYNCED_JOBS = 60
WRITTEN_JOBS = 150  # enough batches of 3 that a kill lands in the middle
PROGRESS_TABLE = "gql_copy_progress"
# The tables build_farm fills (every table is compared, filled or not).
FILLED = {
    *("printers", "print_jobs", "job_details", "job_documents", "metadata_documents"),
    *("print_files", "job_totals", "job_rollup_totals", "job_rollup_days"),
    *("job_rollup_day_statuses", "job_rollup_state", "api_keys", "sync_runs"),
}
_numbers = count()


# ---------------------------------------------------------------------------- the farm


def build_farm(database: Database, moonraker_url: str) -> None:
    """A farm as the importer and the services write it: synced jobs with details,
    documents, metadata, rollups and a sync run; written jobs with awkward values;
    printers with encrypted Moonraker keys; API keys."""
    with database.scope() as session:
        synced = make_printer(
            session, "voron-1", moonraker_url=moonraker_url, moonraker_api_key=API_KEY
        )
        other = make_printer(
            session,
            "Prusa MK4 Ω",
            moonraker_url="http://prusa.local:7125",
            location="Atelier Straße",
            moonraker_api_key="another-key-0123456789abcdef",
        )
        create_api_key(session, name="grafana", scopes="READ")
        create_api_key(
            session, name="ops ✓", scopes="ADMIN", expires_at=EPOCH + timedelta(days=9999)
        )
        session.flush()
        synced_id, other_id = synced.id, other.id
    syncer = Syncer(database, replace(FAST, page_size=20), secret_box=TEST_BOX)
    assert anyio.run(partial(syncer.sync_printer, synced_id)).ok
    rows = [
        make_job_row(
            index,
            filename="Größe 日本 part.gcode" if index % 7 == 0 else f"part_{index % 11}.gcode",
            print_duration=0.1 + 0.2 + index,  # not a short decimal: repr must survive
            filament_used=None if index % 5 == 0 else 1e-7 * index + 12345.678901234567,
            status="cancelled" if index % 4 == 0 else "completed",
        )
        for index in range(WRITTEN_JOBS)
    ]
    with database.scope() as session:
        jobs.upsert_jobs(session, other_id, rows)


@pytest.fixture
def farm_url(tmp_path: Path, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker) -> str:
    """An SQLite file holding a farm, at the newest revision."""
    fake.add_sample_files()
    fake.add_jobs(SYNCED_JOBS, seed=5)
    fake.add_job(status="in_progress")
    url = f"sqlite:///{tmp_path / 'farm.db'}"
    database = Database(create_db_engine(url))
    try:
        upgrade_to_head(database.engine)
        build_farm(database, moonraker_server.url)
    finally:
        database.dispose()
    return url


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A MariaDB database of this test's own, created empty (never migrated)."""
    require_mysql(MYSQL_URL)
    url = f"{MYSQL_URL}_copy_{next(_numbers)}"
    recreate_mysql_database(url)
    yield url
    drop_mysql_database(url)


# ---------------------------------------------------------------------------- reading back


def engine_for(url: str) -> Engine:
    return create_db_engine(url)


def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as the models read them (documents decoded, times aware UTC),
    in primary-key order computed here, the same for both databases."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(row) for row in connection.execute(select(table))), key=repr
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def stored_documents(url: str) -> list[tuple[int, bytes]]:
    """The compressed bytes themselves: a copy must not re-compress them."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            query = text(f"SELECT id, document FROM {MetadataDocument.__tablename__} ORDER BY id")
            return [(row[0], bytes(row[1])) for row in connection.execute(query)]
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def copy(
    capsys: pytest.CaptureFixture[str], source: str, target: str, *flags: str
) -> tuple[int, str, str]:
    status = main(["copy", "--from", source, "--to", target, *flags])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------------------- round trip


def test_farm_survives_sqlite_to_mariadb_to_sqlite_value_for_value(
    farm_url: str, mariadb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    original = every_row(farm_url)
    assert {name for name, rows in original.items() if rows} >= FILLED

    there = copy(capsys, farm_url, mariadb_url)
    back = copy(capsys, mariadb_url, back_url, "--batch-size", "7")  # keysets on MariaDB

    assert (there[0], back[0]) == (0, 0), (there, back)
    assert every_row(mariadb_url) == original
    assert every_row(back_url) == original
    assert stored_documents(back_url) == stored_documents(farm_url)


def test_copy_prints_per_table_progress_and_a_verified_table(
    farm_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = copy(
        capsys, farm_url, f"sqlite:///{tmp_path / 'copy.db'}", "--batch-size", "50"
    )
    jobs_total = SYNCED_JOBS + 1 + WRITTEN_JOBS
    assert status == 0
    assert f"print_jobs: {jobs_total:,}/{jobs_total:,} rows" in err
    assert f"print_jobs: 50/{jobs_total:,} rows" in err
    report = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    assert report["print_jobs"][1:3] == [str(jobs_total), str(jobs_total)]
    assert report["print_jobs"][-1] == "ok"
    assert report["alembic_version"][-1] == "ok"
    assert "copied and verified" in out
    assert "2 printer Moonraker API key(s) were copied encrypted" in out


def test_new_rows_on_the_mariadb_copy_get_ids_after_the_copied_ones(
    farm_url: str, mariadb_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert copy(capsys, farm_url, mariadb_url)[0] == 0
    database = Database(create_db_engine(mariadb_url))
    try:
        with database.scope() as session:
            copied_max = session.scalar(select(func.max(ApiKey.id)))
            created = create_api_key(session, name="after the move")
            printer = make_printer(session, "voron-2")
            session.flush()
            assert (created.api_key.id, printer.id) == (copied_max + 1, 3)
    finally:
        database.dispose()


# ---------------------------------------------------------------------------- interrupted


def start_copy(source: str, target: str, *flags: str) -> "subprocess.Popen[bytes]":
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    command = [sys.executable, "-m", "gql_server.cli", "copy", "--from", source, "--to", target]
    return subprocess.Popen(
        [*command, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )


def kill_when_printed(
    process: "subprocess.Popen[bytes]", marker: bytes, limit: float = 60.0
) -> bytes:
    """SIGKILL (no cleanup of any kind) once stderr shows ``marker``; what it printed."""
    assert process.stderr is not None
    printed = b""
    deadline = time.monotonic() + limit
    while marker not in printed and time.monotonic() < deadline:
        ready, _, _ = io_select.select([process.stderr], [], [], 0.5)
        if ready:
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                break
            printed += chunk
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    return printed


def test_copy_killed_midway_completes_on_rerun_with_nothing_duplicated(
    farm_url: str, mariadb_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    process = start_copy(farm_url, mariadb_url, "--batch-size", "3")
    printed = kill_when_printed(process, b"print_jobs: 30/")

    assert process.returncode == -signal.SIGKILL, printed  # killed, not finished
    assert PROGRESS_TABLE in table_names(mariadb_url)
    status, out, err = copy(capsys, farm_url, mariadb_url, "--batch-size", "3")

    assert (status, "resumed an interrupted copy" in out) == (0, True), (out, err)
    assert every_row(mariadb_url) == every_row(farm_url)
    assert PROGRESS_TABLE not in table_names(mariadb_url)


# ---------------------------------------------------------------------------- refusals


def test_copy_refuses_a_target_holding_rows_without_force(
    farm_url: str, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with database.scope() as session:
        make_printer(session, "already-here")
    target = database.engine.url.render_as_string(hide_password=False)

    status, _, err = copy(capsys, farm_url, target)

    assert status == 2
    assert "TARGET_NOT_EMPTY" in err and "--force empties every table of the target" in err
    with database.scope() as session:
        assert session.scalars(select(Printer.name)).all() == ["already-here"]


def test_copy_with_force_replaces_what_the_target_held(
    farm_url: str, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with database.scope() as session:
        make_printer(session, "already-here")
    target = database.engine.url.render_as_string(hide_password=False)

    assert copy(capsys, farm_url, target, "--force")[0] == 0
    assert every_row(target) == every_row(farm_url)


def test_copy_refuses_a_target_at_another_revision(
    farm_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"sqlite:///{tmp_path / 'older.db'}"
    engine = create_db_engine(target)
    migrate_to(engine, "0011")

    status, _, err = copy(capsys, farm_url, target)

    assert status == 2
    assert "REVISION_MISMATCH" in err and "the target is at revision 0011" in err
    assert current_revision(engine) == "0011"
    engine.dispose()


def test_copy_refuses_a_source_behind_this_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_db_engine(source)
    migrate_to(engine, "0011")
    engine.dispose()

    status, _, err = copy(capsys, source, f"sqlite:///{tmp_path / 'new.db'}")

    assert status == 2
    assert "REVISION_MISMATCH" in err and "the source is at revision 0011" in err
    assert not (tmp_path / "new.db").exists()


def test_copy_refuses_to_copy_a_database_onto_itself(
    farm_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = copy(capsys, farm_url, farm_url)
    assert status == 2 and "SAME_DATABASE" in err


def test_copy_refuses_a_missing_source_file_without_creating_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    status, _, err = copy(capsys, f"sqlite:///{missing}", f"sqlite:///{tmp_path / 'copy.db'}")
    assert (status, "SOURCE_MISSING" in err, missing.exists()) == (2, True, False)
