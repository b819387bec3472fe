"""Opening the configured database for a command, or one line saying why it cannot be.

Every ``gql-server`` command that touches the database comes through here, so that a
missing file, an unmigrated schema, an unknown MariaDB database or an unreachable server
ends in one line naming ``DATABASE_URL`` and the fix, never in a traceback. Only
``migrate`` (and ``serve`` on SQLite) may create the SQLite file: the other commands used
to leave an empty ``gql_server.db`` wherever they were started, then fail on a missing
table.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gql_server.config import ConfigError
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import current_revision, head_revision, pending_revisions
from gql_server.db.session import Database

MIGRATE = "run `gql-server migrate`"

# PyMySQL error numbers met while connecting (mariadb.com/kb/en/mariadb-error-code-reference).
UNKNOWN_DATABASE = 1049
ACCESS_DENIED = (1044, 1045)
UNREACHABLE = (2002, 2003, 2005, 2006, 2013)


class DatabaseNotMigrated(Exception):
    """The database is missing or behind the code; the message says to run ``migrate``."""


def sqlite_file(database_url: str) -> Path | None:
    """The absolute path of an SQLite file database; None for memory or another dialect.

    A relative ``sqlite:///name.db`` is relative to the working directory, which is why
    every message shows the absolute path."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    if url.query.get("uri") == "true" and database.startswith("file:"):
        database = urlsplit(database).path  # sqlite:///file:/srv/farm.db?mode=ro&uri=true
    return Path(database).absolute()


def database_label(database_url: str) -> str:
    """What an operator needs to recognise the database: a path, or the URL without its
    password."""
    file = sqlite_file(database_url)
    if file is not None:
        return str(file)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return "in-memory SQLite"
    return url.render_as_string(hide_password=True)


@contextmanager
def opened_database(database_url: str, *, for_migration: bool = False) -> Iterator[Database]:
    """The database, checked and disposed of afterwards.

    ``for_migration``: the SQLite file may be created (its directory must exist) and the
    schema may be behind; otherwise a missing file or an old schema raises
    ``DatabaseNotMigrated`` before anything is written."""
    file = sqlite_file(database_url)
    if file is not None:
        _check_sqlite_file(file, may_create=for_migration)
    database = Database(create_db_engine(database_url))
    try:
        _check_connects(database, database_url)
        if not for_migration:
            require_head(database, database_url)
        yield database
    finally:
        database.dispose()


def require_head(database: Database, database_url: str) -> None:
    current, head = current_revision(database.engine), head_revision()
    if current == head:
        return
    if current is not None and current not in {r for r, _ in pending_revisions(None)}:
        raise DatabaseNotMigrated(  # migrating would fail: alembic cannot find it either
            f"the database {database_label(database_url)} is at revision {current}, which "
            f"this gql_server does not know (newest {head}): it was migrated by a newer "
            "release; run that release, or restore a backup taken before the upgrade"
        )
    raise DatabaseNotMigrated(
        f"the database {database_label(database_url)} is not migrated (revision "
        f"{current or 'none'}, newest {head}): {MIGRATE}"
    )


def _check_sqlite_file(file: Path, *, may_create: bool) -> None:
    if file.exists():
        return
    if not file.parent.is_dir():
        raise ConfigError(
            f"DATABASE_URL names {file}, but the directory {file.parent} does not exist: "
            "create it, or set DATABASE_URL to a file in an existing directory"
        )
    if not may_create:
        raise DatabaseNotMigrated(
            f"there is no database at {file}: {MIGRATE} to create it, or set DATABASE_URL "
            "(sqlite:///name.db is relative to the working directory)"
        )


def _check_connects(database: Database, database_url: str) -> None:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise ConfigError(_connect_failure(exc, database_url)) from None


def _connect_failure(exc: DBAPIError, database_url: str) -> str:
    url = make_url(database_url)
    where = f"{url.host or 'localhost'}:{url.port or 3306}"
    args: tuple[Any, ...] = getattr(exc.orig, "args", ())
    errno = args[0] if args and isinstance(args[0], int) else None
    if errno == UNKNOWN_DATABASE:
        return (
            f"DATABASE_URL names the database {url.database!r}, which does not exist on "
            f"{where}: create it (CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_unicode_ci), then run `gql-server migrate`; or correct DATABASE_URL"
        )
    if errno in UNREACHABLE:
        return (
            f"DATABASE_URL: no database server answers at {where} ({_driver_words(exc)}): "
            "start it, or correct the host and port in DATABASE_URL"
        )
    if errno in ACCESS_DENIED:
        return (
            f"DATABASE_URL: {where} refused user {url.username!r} ({_driver_words(exc)}): correct "
            "the user and password in DATABASE_URL, or grant them access"
        )
    return (
        f"DATABASE_URL: cannot open {database_label(database_url)} ({_driver_words(exc)}): "
        "correct DATABASE_URL"
    )


def _driver_words(exc: DBAPIError) -> str:
    """The driver's own message, first line: SQLAlchemy appends the statement and a link."""
    args: tuple[Any, ...] = getattr(exc.orig, "args", ())
    words = str(args[1] if len(args) == 2 and isinstance(args[0], int) else exc.orig).strip()
    return words.splitlines()[0] if words else type(exc.orig).__name__
