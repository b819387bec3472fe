"""/healthz answers whether the database answers; /readyz also whether it is migrated."""

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import migrate_to
from gql_server.db.session import Database
from tests.conftest import MYSQL_URL, drop_mysql_database, recreate_mysql_database, require_mysql
from tests.support.live_server import LiveServer


def probe(database: Database, path: str) -> httpx.Response:
    app = create_app(Settings(database_url="sqlite://"), database=database)
    with LiveServer(app, name="health") as server:
        return httpx.get(server.url + path, timeout=30)


def status(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["status"]


def closed_port() -> int:
    """A port bound but not listening: connecting is refused at once."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        return holder.getsockname()[1]


@pytest.fixture(params=["sqlite in a missing directory", "mariadb on a closed port"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'missing' / 'gql.db'}"
    else:
        url = f"mysql+pymysql://root@127.0.0.1:{closed_port()}/gql_server"
    database = Database(create_db_engine(url))
    yield database
    database.dispose()


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> Iterator[Database]:
    database = Database(create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    yield database
    database.dispose()


@pytest.fixture
def empty_mariadb() -> Iterator[Database]:
    require_mysql(MYSQL_URL)
    url = MYSQL_URL + "_empty"
    recreate_mysql_database(url)
    database = Database(create_db_engine(url))
    yield database
    database.dispose()
    drop_mysql_database(url)


@pytest.fixture
def behind_head(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A SQLite database one migration behind the newest."""
    path = tmp_path / "old.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    migrate_to(database.engine, "-1", downgrade=True)
    yield database
    database.dispose()


def test_healthz_is_200_while_the_database_answers(database: Database) -> None:
    assert status(probe(database, "/healthz")) == (200, "ok")


def test_healthz_is_503_when_the_database_is_unreachable(unreachable: Database) -> None:
    assert status(probe(unreachable, "/healthz")) == (503, "unavailable")


def test_readyz_is_200_on_a_migrated_database(database: Database) -> None:
    assert status(probe(database, "/readyz")) == (200, "ok")


def test_readyz_is_503_when_the_database_is_unreachable(unreachable: Database) -> None:
    assert status(probe(unreachable, "/readyz")) == (503, "database unreachable")


def test_readyz_is_503_on_an_unmigrated_sqlite_database(empty_sqlite: Database) -> None:
    assert status(probe(empty_sqlite, "/readyz")) == (503, "migrations pending")


@pytest.mark.mariadb
def test_readyz_is_503_on_an_unmigrated_mariadb_database(empty_mariadb: Database) -> None:
    assert status(probe(empty_mariadb, "/readyz")) == (503, "migrations pending")


def test_readyz_is_503_one_migration_behind(behind_head: Database) -> None:
    assert status(probe(behind_head, "/readyz")) == (503, "migrations pending")


def test_healthz_is_200_on_an_unmigrated_database(empty_sqlite: Database) -> None:
    assert status(probe(empty_sqlite, "/healthz")) == (200, "ok")
