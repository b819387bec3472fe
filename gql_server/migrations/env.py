"""Alembic environment: URL from DATABASE_URL (or a caller's connection), batch mode on SQLite."""

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from gql_server.config import load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import migration_connection
from gql_server.db.models import Base
from gql_server.db.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def _compare_type(
    ctx: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    # MariaDB stores JSON as LONGTEXT with a json_valid() check and reflects it as
    # LONGTEXT; that is the JSON type there, not drift.
    if ctx.dialect.name in ("mysql", "mariadb") and type(metadata_type).__name__ == "JSON":
        return type(inspected_type).__name__ not in ("JSON", "LONGTEXT")
    if isinstance(metadata_type, UTCDateTime):
        return None if ctx.dialect.name in ("mysql", "mariadb") else False
    return None


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=_compare_type,
    )


def _refuse_enforced_foreign_keys(connection: Connection) -> None:
    """Batch mode on SQLite drops and rebuilds tables: with foreign keys enforced, that
    deletes the children of a rebuilt table (db/migrate.py, migration_connection)."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite and connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "SQLite migrations must run through gql_server.db.migrate."
            "migration_connection, which stops foreign keys from deleting rows"
        )


def _run(connection: Connection) -> None:
    _refuse_enforced_foreign_keys(connection)
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(load_settings().database_url)
    try:
        with migration_connection(engine) as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
