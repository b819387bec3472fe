"""Databases that die during an API-key lookup, for the tests of what a client then
gets. MariaDB: the lookup's own connection is killed (KILL from another connection)
while the lookup waits on a table lock, so the failure really happens mid-query.
SQLite: the database's directory disappears, so the lookup cannot open the file.
"""

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, create_engine, text

from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database

Request = Callable[[], Any]


class Outage(Protocol):
    database: Database

    def during_lookup(self, request: Request) -> Any: ...

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

    def during_lookup(self, request: Request) -> Any:
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

    def during_lookup(self, request: Request) -> Any:
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
