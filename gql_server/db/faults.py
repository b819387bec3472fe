"""Database errors that are the storage's fault, not ours: named in one place.

A full disk, a read-only file or grant, a lost connection or a damaged file reach
clients as one stable code (``STORAGE_ERROR``) with a short cause and no SQL; lock
conflicts (a MariaDB deadlock or lock-wait timeout, a SQLite database that stayed busy)
are transient, and the few statements that take and renew sync leases retry them.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import anyio
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from gql_server.db.session import Database

log = logging.getLogger(__name__)
T = TypeVar("T")
FaultKind = Literal["full", "read_only", "unavailable", "locked", "damaged"]

STORAGE_ERROR = "STORAGE_ERROR"

# MariaDB/MySQL error numbers (mariadb.com/kb/en/mariadb-error-code-reference).
MYSQL_KINDS: dict[int, FaultKind] = {
    1021: "full",  # ER_DISK_FULL
    1114: "full",  # ER_RECORD_FILE_FULL: the table is full
    1036: "read_only",  # ER_OPEN_AS_READONLY
    1142: "read_only",  # ER_TABLEACCESS_DENIED_ERROR: a user without write grants
    1290: "read_only",  # ER_OPTION_PREVENTS_STATEMENT: --read-only
    1792: "read_only",  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
    1053: "unavailable",  # ER_SERVER_SHUTDOWN
    1927: "unavailable",  # ER_CONNECTION_KILLED
    2002: "unavailable",  # CR_CONNECTION_ERROR
    2003: "unavailable",  # CR_CONN_HOST_ERROR
    2006: "unavailable",  # CR_SERVER_GONE_ERROR
    2013: "unavailable",  # CR_SERVER_LOST
    2055: "unavailable",  # CR_SERVER_LOST_EXTENDED
    1205: "locked",
    1213: "locked",
}
# SQLite primary result codes (sqlite.org/rescode.html); extended ones share the prefix.
SQLITE_KINDS: dict[str, FaultKind] = {
    "SQLITE_FULL": "full",
    "SQLITE_READONLY": "read_only",
    "SQLITE_CANTOPEN": "unavailable",
    "SQLITE_IOERR": "unavailable",
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_CORRUPT": "damaged",
    "SQLITE_NOTADB": "damaged",
}
MESSAGES: dict[FaultKind, str] = {
    "full": "the database is full (disk or quota); the sync resumes where it stopped "
    "once there is space",
    "read_only": "the database refused the write: it is read-only",
    "unavailable": "the database connection was lost or could not be opened",
    "locked": "the database stayed locked by other writers",
    "damaged": "the database file is damaged",
}

LOCK_RETRY_ATTEMPTS = 6
LOCK_RETRY_BASE_S = 0.05


@dataclass(frozen=True, slots=True)
class StorageFault:
    kind: FaultKind
    code: str = STORAGE_ERROR

    @property
    def message(self) -> str:
        return MESSAGES[self.kind]


def storage_fault(exc: BaseException) -> StorageFault | None:
    """The storage fault behind ``exc``, or None when it is not one (a bug, a constraint)."""
    if isinstance(exc, PoolTimeoutError):
        return StorageFault("unavailable")
    if not isinstance(exc, DBAPIError):
        return None
    kind = _sqlite_kind(exc.orig) or _mysql_kind(exc.orig)
    if kind is None and exc.connection_invalidated:
        kind = "unavailable"
    return None if kind is None else StorageFault(kind)


def is_lock_conflict(exc: BaseException) -> bool:
    fault = storage_fault(exc)
    return fault is not None and fault.kind == "locked"


def _sqlite_kind(orig: BaseException | None) -> FaultKind | None:
    name = getattr(orig, "sqlite_errorname", None)
    if not isinstance(name, str):
        return None
    for prefix, kind in SQLITE_KINDS.items():
        if name == prefix or name.startswith(prefix + "_"):
            return kind
    return None


def _mysql_kind(orig: BaseException | None) -> FaultKind | None:
    # PyMySQL's errors carry (errno, message); a closed connection is InterfaceError(0, '').
    args = getattr(orig, "args", ())
    errno = args[0] if args and isinstance(args[0], int) else None
    if errno is None:
        return None
    if errno == 0 and type(orig).__name__ == "InterfaceError":
        return "unavailable"
    return MYSQL_KINDS.get(errno)


async def run_retrying_conflicts(database: Database, work: Callable[[Session], T]) -> T:
    """``database.run(work)``, again after a lock conflict, with jittered exponential
    backoff: two servers and a CLI claiming leases at once made MariaDB pick deadlock
    victims (1213), and one failed claim used to fail a whole periodic round. ``work``
    must be safe to repeat: each attempt is its own transaction, rolled back on failure.
    """
    for attempt in range(LOCK_RETRY_ATTEMPTS):
        try:
            return await database.run(work)
        except SQLAlchemyError as exc:
            if attempt == LOCK_RETRY_ATTEMPTS - 1 or not is_lock_conflict(exc):
                raise
            pause = LOCK_RETRY_BASE_S * 2**attempt * random.uniform(0.5, 1.5)
            log.info("lock conflict (%s); retrying in %.2f s", describe(exc), pause)
        await anyio.sleep(pause)
    raise AssertionError("unreachable: the last attempt returns or raises")


def describe(exc: BaseException) -> str:
    """One line for an operator (the CLI): the fault, and the driver's own words without
    the SQL statement SQLAlchemy appends."""
    fault = storage_fault(exc)
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    words = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return words if fault is None else f"{fault.message} ({words})"
