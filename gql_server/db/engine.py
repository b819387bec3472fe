"""Engine factory: one place that knows each dialect's connection settings."""

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000
MYSQL_POOL_RECYCLE_S = 1800


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Without foreign_keys=ON SQLite silently ignores ON DELETE CASCADE; WAL lets readers
    # run while an import writes; the busy timeout turns lock contention into waiting.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    query = dict(parsed.query)
    query.setdefault("charset", "utf8mb4")
    return create_engine(
        parsed.set(query=query),
        echo=echo,
        pool_pre_ping=True,
        pool_recycle=MYSQL_POOL_RECYCLE_S,
        pool_size=10,
        max_overflow=10,
        isolation_level="READ COMMITTED",
    )
