"""Databases for migration tests: empty, of one kind, brought to a revision through
gql_server/db/migrate.py (never alembic directly: it guards SQLite's ON DELETE CASCADE
during batch rebuilds), and dropped when the test ends.

``at_revision`` runs a test on SQLite and on MariaDB; ``sqlite_at_revision`` is for what
only SQLite has (batch rebuilds, the secret file beside the database).
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import migrate_to
from tests.conftest import MYSQL_URL, drop_mysql_database, recreate_mysql_database, require_mysql

BOTH_DATABASES = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
AtRevision = Callable[[str | None], Engine]
_numbers = count()  # one database name per call: a test may ask for two databases


def migrate(engine: Engine, direction: str, revision: str) -> None:
    migrate_to(engine, revision, downgrade=direction == "downgrade")


@contextmanager
def database_at(kind: str, tmp_path: Path, revision: str | None) -> Iterator[Engine]:
    """``kind``: "sqlite" (a file in ``tmp_path``), "sqlite-memory" or "mariadb" (a
    database of its own, created empty); ``revision`` None leaves it empty."""
    number = next(_numbers)
    if kind == "mariadb":
        require_mysql(MYSQL_URL)
        url = f"{MYSQL_URL}_migration_{number}"
        recreate_mysql_database(url)
    elif kind == "sqlite-memory":
        url = "sqlite://"
    else:
        url = f"sqlite:///{tmp_path / f'migration_{number}.db'}"
    engine = create_db_engine(url)
    try:
        if revision is not None:
            migrate(engine, "upgrade", revision)
        yield engine
    finally:
        engine.dispose()
        if kind == "mariadb":
            drop_mysql_database(url)


def all_rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


@pytest.fixture(params=BOTH_DATABASES)
def at_revision(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AtRevision]:
    """``at_revision("0006")``: a database of this run's kind at 0006 (None: empty)."""
    with ExitStack() as stack:
        yield lambda revision: stack.enter_context(database_at(request.param, tmp_path, revision))


@pytest.fixture
def sqlite_at_revision(tmp_path: Path) -> Iterator[AtRevision]:
    """Like ``at_revision``, on a SQLite file only."""
    with ExitStack() as stack:
        yield lambda revision: stack.enter_context(database_at("sqlite", tmp_path, revision))
