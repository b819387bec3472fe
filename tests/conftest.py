"""Fixtures shared by the whole suite: a migrated database on SQLite and on MariaDB.

Every test that takes ``database`` runs twice, once per dialect. MariaDB is found at
``GQL_TEST_MYSQL_URL`` (default: root on 127.0.0.1:3306); when it does not answer the
MariaDB half skips with the reason, except under ``CI=true`` where it fails.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.engine import make_url

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.models import Base, JobRollupState
from gql_server.db.session import Database
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer

# One database per test process, so concurrent runs on one server do not trample
# each other; dropped when the session ends.
MYSQL_URL = (
    os.environ.get("GQL_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/gql_server_test")
    + f"_{os.getpid()}"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _mysql_unavailable_reason(url: str) -> str | None:
    server = make_url(url).set(database="")
    engine = create_engine(server, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "no server here"
        where = server.render_as_string()
        return f"MariaDB/MySQL not reachable at {where}: {exc.__class__.__name__}"
    finally:
        engine.dispose()
    return None


def recreate_mysql_database(url: str) -> None:
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""))
    try:
        with server.begin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
            connection.execute(
                text(
                    f"CREATE DATABASE `{parsed.database}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
    finally:
        server.dispose()


def drop_mysql_database(url: str) -> None:
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""))
    try:
        with server.begin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
    finally:
        server.dispose()


def require_mysql(url: str) -> None:
    reason = _mysql_unavailable_reason(url)
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: MariaDB tests must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file copied for each test: migrations run once per session."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


@contextmanager
def migrated_mysql_database(url: str) -> Iterator[Database]:
    """A MariaDB database of its own at ``url``, new and migrated, dropped afterwards."""
    require_mysql(url)
    recreate_mysql_database(url)
    database = Database(create_db_engine(url))
    try:
        upgrade_to_head(database.engine)
        yield database
    finally:
        database.dispose()
        drop_mysql_database(url)


@pytest.fixture(scope="session")
def mysql_database() -> Iterator[Database]:
    with migrated_mysql_database(MYSQL_URL) as database:
        yield database


def _empty_tables(database: Database) -> None:
    """Back to a freshly migrated database: no rows but the rollups' state (UTC)."""
    table_names = set(inspect(database.engine).get_table_names())
    with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in table_names:
                connection.execute(table.delete())
        if JobRollupState.__tablename__ in table_names:
            connection.execute(insert(JobRollupState).values(id=1, timezone="UTC"))


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(sqlite_template, path)
        database = Database(create_db_engine(f"sqlite:///{path}"))
        yield database
        database.dispose()
        return
    shared: Database = request.getfixturevalue("mysql_database")
    _empty_tables(shared)
    yield shared
    _empty_tables(shared)


# Fake printers: one real HTTP server each for the whole session, emptied per test.
@pytest.fixture(scope="session")
def moonraker_server() -> Iterator[FakeMoonrakerServer]:
    with FakeMoonrakerServer() as server:
        yield server


@pytest.fixture(scope="session")
def other_moonraker_server() -> Iterator[FakeMoonrakerServer]:
    with FakeMoonrakerServer() as server:
        yield server


@pytest.fixture
def fake(moonraker_server: FakeMoonrakerServer) -> FakeMoonraker:
    moonraker_server.moonraker.reset()
    return moonraker_server.moonraker


@pytest.fixture
def other_fake(other_moonraker_server: FakeMoonrakerServer) -> FakeMoonraker:
    other_moonraker_server.moonraker.reset()
    return other_moonraker_server.moonraker
