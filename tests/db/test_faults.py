"""Lock conflicts are retried where leases are taken; storage faults are named once."""

import threading
import time

import anyio
import pymysql
import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gql_server.db.faults import is_lock_conflict, run_retrying_conflicts, storage_fault
from gql_server.db.models import Printer
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from tests.factories import make_printer

HEAVY_ROWS = 20  # the other transaction writes more, so InnoDB picks ours as the victim


def add_printers(database: Database, count: int) -> list[int]:
    with database.scope() as session:
        printers = [make_printer(session, f"p-{n}") for n in range(count)]
        session.flush()
        return [printer.id for printer in printers]


def touch(session: Session, printer_id: int) -> None:
    stmt = update(Printer).where(Printer.id == printer_id).values(last_seen=utcnow())
    session.execute(stmt.execution_options(synchronize_session=False))


def test_a_deadlock_victim_is_retried_until_it_commits(database: Database) -> None:
    if database.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: no deadlock to lose")
    first, second, *others = add_printers(database, HEAVY_ROWS + 2)
    heavy_holds_first, light_holds_second = threading.Event(), threading.Event()
    attempts: list[int] = []

    def heavy() -> None:
        # Holds ``first`` and many rows, then waits for ``second``, which we hold.
        with database.scope() as session:
            for printer_id in (first, *others):
                touch(session, printer_id)
            heavy_holds_first.set()
            light_holds_second.wait(5)
            touch(session, second)

    def light(session: Session) -> int:
        attempts.append(1)
        touch(session, second)
        if len(attempts) == 1:
            heavy_holds_first.wait(5)
            light_holds_second.set()
            time.sleep(0.3)  # the heavy transaction is waiting for ``second`` by now
        touch(session, first)  # the cycle closes here: InnoDB rolls one back (1213)
        return len(attempts)

    other = threading.Thread(target=heavy)
    other.start()
    try:
        tries = anyio.run(run_retrying_conflicts, database, light)
    finally:
        other.join(10)
    assert tries >= 2


def test_a_deadlock_is_a_lock_conflict() -> None:
    deadlock = OperationalError("UPDATE …", {}, pymysql_error(1213, "Deadlock found"))
    assert is_lock_conflict(deadlock)


def test_a_duplicate_key_is_neither_a_storage_fault_nor_a_lock_conflict() -> None:
    duplicate = OperationalError("INSERT …", {}, pymysql_error(1062, "Duplicate entry"))
    assert (storage_fault(duplicate), is_lock_conflict(duplicate)) == (None, False)


def pymysql_error(errno: int, message: str) -> Exception:
    return pymysql.err.OperationalError(errno, message)
