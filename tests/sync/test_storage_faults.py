"""A database that cannot take a write fails the sync with STORAGE_ERROR, frees its lease,
and the next sync once the fault is gone succeeds at once.

A full disk is SQLite's own SQLITE_FULL (``PRAGMA max_page_count`` at the file's size);
MariaDB's disk cannot be filled from a test, so there the fault is a read-only database:
a user with SELECT grants only. SQLite's read-only database is a ``mode=ro`` open (the
tests run as root, whom file permissions do not stop). The read-only faults go through
the CLI in a fresh process, where they used to print a traceback.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.faults import STORAGE_ERROR
from gql_server.db.session import Database
from gql_server.services.sync import ImportCounts, Syncer, SyncOptions
from tests.factories import LOOPBACK
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.live_server import LiveServer
from tests.sync.conftest import (
    FAST,
    add_printer,
    job_key,
    lease_of,
    run_states,
    run_sync,
    stored_keys,
    sync_all,
)

GQL_SERVER = str(Path(sys.executable).with_name("gql-server"))
JOBS = 90
SQLITE_MAX_PAGES = 4294967294


class FullDisk:
    """Every connection, as it is checked out, may grow the file only while ``full`` is
    False: SQLite clamps ``max_page_count`` to the current size, and a write that needs a
    new page then fails with SQLITE_FULL ("database or disk is full")."""

    def __init__(self, database: Database) -> None:
        self.full = False
        self.engine = database.engine
        event.listen(self.engine, "checkout", self._limit)

    def _limit(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count={1 if self.full else SQLITE_MAX_PAGES}")
        cursor.close()

    def remove(self) -> None:
        event.remove(self.engine, "checkout", self._limit)


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    path = tmp_path / "full.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    yield database
    database.dispose()


@pytest.fixture
def disk(sqlite_database: Database) -> Iterator[FullDisk]:
    full_disk = FullDisk(sqlite_database)
    yield full_disk
    full_disk.remove()


@pytest.fixture
def options() -> SyncOptions:
    return replace(FAST, page_size=20, allowed_networks=LOOPBACK)


@pytest.fixture
def full_printer(
    sqlite_database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> int:
    fake.add_jobs(JOBS, seed=41)
    return add_printer(sqlite_database, "voron-1", moonraker_server.url)


def test_disk_full_mid_sync_fails_the_sync_with_storage_error_and_frees_the_lease(
    sqlite_database: Database, disk: FullDisk, options: SyncOptions, full_printer: int
) -> None:
    def fill_after_first_page(_printer_id: int, counts: ImportCounts) -> None:
        disk.full = True

    sync = Syncer(sqlite_database, options).sync_printer
    result = anyio.run(partial(sync, full_printer, progress=fill_after_first_page))
    assert (result.error_code, lease_of(sqlite_database, full_printer)) == (
        STORAGE_ERROR,
        (None, None),
    )
    assert run_states(sqlite_database, full_printer) == [("failed", STORAGE_ERROR)]


def test_the_first_sync_once_the_disk_has_space_imports_everything_once(
    sqlite_database: Database,
    disk: FullDisk,
    options: SyncOptions,
    fake: FakeMoonraker,
    full_printer: int,
) -> None:
    syncer = Syncer(sqlite_database, options)
    disk.full = True
    assert run_sync(syncer, full_printer).error_code == STORAGE_ERROR
    disk.full = False
    assert run_sync(syncer, full_printer).ok
    assert stored_keys(sqlite_database, full_printer) == {job_key(job): 1 for job in fake.jobs}


@pytest.fixture
def full_gql(
    sqlite_database: Database, disk: FullDisk, options: SyncOptions
) -> Iterator[GraphQLClient]:
    syncer = Syncer(sqlite_database, options)
    app = create_app(Settings(database_url="sqlite://"), database=sqlite_database, syncer=syncer)
    key = make_key(sqlite_database)
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=key)


def test_sync_printers_on_a_full_disk_answers_storage_error_for_the_printer(
    disk: FullDisk, full_gql: GraphQLClient, full_printer: int
) -> None:
    disk.full = True
    result = sync_all(full_gql)["voron-1"]  # fails the test on any GraphQL error
    assert (result["ok"], result["error"]["code"]) == (False, STORAGE_ERROR)


# ---------------------------------------------------------------------------- read-only


@pytest.fixture
def read_only_url(database: Database) -> Iterator[str]:
    """The test database, through a connection that may not write."""
    url = database.engine.url
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///file:{url.database}?mode=ro&uri=true"
        return
    user = f"gql_ro_{os.getpid()}"
    with database.engine.begin() as connection:
        connection.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
        connection.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'read-only'"))
        connection.execute(text(f"GRANT SELECT ON `{url.database}`.* TO '{user}'@'%'"))
    try:
        yield url.set(username=user, password="read-only").render_as_string(hide_password=False)
    finally:
        with database.engine.begin() as connection:
            connection.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))


def writable_url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def cli_sync(url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "GQL_MOONRAKER_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    return subprocess.run(
        [GQL_SERVER, "sync"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_sync_on_a_read_only_database_reports_storage_error_without_a_traceback(
    database: Database, read_only_url: str, printer_id: int
) -> None:
    done = cli_sync(read_only_url)
    assert (done.returncode, "Traceback" in done.stdout + done.stderr) == (1, False)
    assert STORAGE_ERROR in done.stdout, done.stdout
    assert lease_of(database, printer_id) == (None, None)


def test_cli_sync_succeeds_at_once_when_the_database_is_writable_again(
    database: Database, read_only_url: str, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_jobs(30, seed=42)
    assert cli_sync(read_only_url).returncode == 1
    done = cli_sync(writable_url(database))
    assert done.returncode == 0, done.stdout + done.stderr
    assert stored_keys(database, printer_id) == {job_key(job): 1 for job in fake.jobs}


def test_cli_without_a_database_server_prints_one_line_and_exits_2() -> None:
    """A server that does not answer is a setting to fix (DATABASE_URL), not a fault."""
    url = make_url("mysql+pymysql://root@127.0.0.1:1/nowhere").render_as_string()
    done = cli_sync(url)
    assert (done.returncode, done.stdout, len(done.stderr.splitlines())) == (2, "", 1)
    assert done.stderr.startswith(
        "configuration error: DATABASE_URL: no database server answers at 127.0.0.1:1"
    ), done.stderr
