"""A database that dies during the API-key lookup gets 503 DATABASE_UNAVAILABLE with
Retry-After, one log line without a traceback, and service again once it is back.

MariaDB: the lookup's own connection is killed (KILL from another connection) while the
lookup waits on a table lock, so the failure really happens mid-query. SQLite: the
database's directory disappears, so the lookup cannot open the file.
"""

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from gql_server.web.auth import DATABASE_RETRY_AFTER
from tests.graphql.conftest import make_key
from tests.support.live_server import LiveServer

VIEWER = {"query": "{ viewer { name } }"}
Request = Callable[[], httpx.Response]


class Outage(Protocol):
    database: Database

    def during_lookup(self, request: Request) -> httpx.Response: ...

    def end(self) -> None: ...


class VanishingSqliteFile:
    """The app's SQLite file sits alone in a directory that is renamed away."""

    def __init__(self, source: Database, directory: Path) -> None:
        directory.mkdir()
        self.directory = directory
        self.hidden = directory.with_name(directory.name + "-gone")
        source_path = Path(str(source.engine.url.database))
        shutil.copyfile(source_path, directory / "app.db")
        self.database = Database(create_db_engine(f"sqlite:///{directory / 'app.db'}"))

    def during_lookup(self, request: Request) -> httpx.Response:
        self.database.dispose()  # pooled connections would keep the old file open
        self.directory.rename(self.hidden)
        return request()

    def end(self) -> None:
        self.hidden.rename(self.directory)


class KilledMariaDbConnection:
    """The lookup blocks on LOCK TABLES … WRITE; its connection is then killed."""

    def __init__(self, source: Database) -> None:
        self.url = source.engine.url.render_as_string(hide_password=False)
        self.database = Database(create_db_engine(self.url))

    def during_lookup(self, request: Request) -> httpx.Response:
        locker = create_engine(self.url)
        try:
            with locker.connect() as connection, ThreadPoolExecutor(1) as pool:
                connection.execute(text("LOCK TABLES api_keys WRITE"))
                answer = pool.submit(request)
                lookup = _waiting_lookup(connection, deadline=time.monotonic() + 10)
                connection.execute(text(f"KILL {lookup}"))
                connection.execute(text("UNLOCK TABLES"))
                return answer.result(timeout=30)
        finally:
            locker.dispose()

    def end(self) -> None:
        pass


def _waiting_lookup(connection: Connection, deadline: float) -> int:
    """The id of the connection whose statement on api_keys waits for our lock."""
    query = text(
        "SELECT ID FROM information_schema.PROCESSLIST "
        "WHERE ID <> CONNECTION_ID() AND DB = DATABASE() AND INFO LIKE '%api_keys%'"
    )
    while time.monotonic() < deadline:
        found = connection.execute(query).scalar()
        if found is not None:
            return int(found)
        time.sleep(0.02)
    raise AssertionError("the API-key lookup never reached the database")


@pytest.fixture
def outage(database: Database, tmp_path: Path) -> Iterator[Outage]:
    chosen: Outage
    if database.engine.dialect.name == "sqlite":
        chosen = VanishingSqliteFile(database, tmp_path / "vanishing")
    else:
        chosen = KilledMariaDbConnection(database)
    yield chosen
    chosen.database.dispose()


@pytest.fixture
def http(outage: Outage) -> Iterator[httpx.Client]:
    key = make_key(outage.database)
    app = create_app(Settings(database_url="sqlite://"), database=outage.database)
    with (
        LiveServer(app, name="database-outage") as server,
        httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": key}) as client,
    ):
        yield client


def ask(http: httpx.Client) -> Request:
    return lambda: http.post("/graphql", json=VIEWER)


def test_a_lookup_whose_database_dies_gets_503_with_retry_after(
    http: httpx.Client, outage: Outage
) -> None:
    response = outage.during_lookup(ask(http))
    code = response.json()["errors"][0]["extensions"]["code"]
    assert (response.status_code, code) == (503, "DATABASE_UNAVAILABLE")
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER)


def test_the_outage_is_logged_once_without_a_traceback(
    http: httpx.Client, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        outage.during_lookup(ask(http))
    warnings = [r for r in caplog.records if r.name == "gql_server.web.auth"]
    assert len(warnings) == 1
    assert [r for r in caplog.records if r.exc_info] == []


def test_the_key_is_served_again_once_the_database_is_back(
    http: httpx.Client, outage: Outage
) -> None:
    outage.during_lookup(ask(http))
    outage.end()
    response = ask(http)()
    assert response.status_code == 200, response.text
