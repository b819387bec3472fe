"""What a page of jobs reads: each index range of its ordering (services/index_ranges.py)
is read in index order and stops after first + 1 rows, however long the history.

MariaDB counts the rows each table access read (ANALYZE FORMAT=JSON: r_loops × r_rows);
SQLite has no row counter, so there the plan must show that every arm reads the ordering's
index in order (EXPLAIN QUERY PLAN: no scan of print_jobs, no sort below the final one
of the picked rows), which a LIMIT then stops.
"""

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from gql_server.db.session import Database
from gql_server.services.index_ranges import index_arms
from gql_server.services.job_queries import (
    ARM,
    JobFilter,
    JobOrder,
    JobOrderField,
    Owner,
    fetch_job_page,
    fetch_job_pages_per_owner,
)
from gql_server.services.pagination import PageArgs
from tests.support.job_history import StoredJob, seed_history

PRINTERS, JOBS, FIRST = 5, 300, 10
ORDERS = [
    JobOrder(field=field, descending=descending)
    for field in JobOrderField
    for descending in (True, False)
]

Statement = tuple[str, Any]


@contextmanager
def _captured(database: Database) -> Iterator[list[Statement]]:
    """The statements the engine runs, with their parameters."""
    statements: list[Statement] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _statement_of(database: Database, fetch: Callable[[Session], object]) -> Statement:
    with database.scope() as session, _captured(database) as statements:
        fetch(session)
    [statement] = statements
    return statement


def _tables(node: Any) -> Iterator[dict[str, Any]]:
    """Every table access of an ANALYZE FORMAT=JSON plan, however deeply nested."""
    if isinstance(node, dict):
        if "table_name" in node:
            yield node
        for child in node.values():
            yield from _tables(child)
    elif isinstance(node, list):
        for child in node:
            yield from _tables(child)


def _mariadb_reads(database: Database, statement: Statement) -> tuple[float, float]:
    """Rows of print_jobs read through index ranges, and the most any one join by
    primary key read (the picked jobs joined back, to be ranked or shown)."""
    sql, parameters = statement
    with database.engine.connect() as connection:
        plan = connection.exec_driver_sql("ANALYZE FORMAT=JSON " + sql, parameters).scalar_one()
    ranges = by_key = 0.0
    for table in _tables(json.loads(plan)):
        if table["table_name"] == "print_jobs":
            rows = table["r_loops"] * (table.get("r_rows") or 0)
            if table["access_type"] == "eq_ref":
                by_key = max(by_key, rows)
            else:
                ranges += rows
    return ranges, by_key


def _sqlite_plan(database: Database, statement: Statement) -> list[tuple[int, int, str]]:
    sql, parameters = statement
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all()
    return [(node, parent, detail) for node, parent, _, detail in rows]


def _sqlite_plan_faults(plan: list[tuple[int, int, str]], index: str) -> list[str]:
    """Plan lines that would read more than the arms' LIMITs: a print_jobs access that
    is not an arm's read of ``index`` (or the primary key, for the picked jobs), or a
    sort inside an arm, which would read the arm's whole range before its LIMIT. SQLite
    may push the join and the final sort into the union's arms: sorting picked rows
    reads nothing more."""
    arm_access = re.compile(rf"(SEARCH|SCAN) print_jobs USING (COVERING )?INDEX {index} ")
    arms = {
        node for node, _, detail in plan if re.match(rf"(CO-ROUTINE|MATERIALIZE) {ARM}$", detail)
    }
    faults = []
    for _, parent, detail in plan:
        by_key = detail.startswith("SEARCH print_jobs USING INTEGER PRIMARY KEY")
        arm_read = parent in arms and arm_access.match(detail + " ")
        if "print_jobs" in detail and not (by_key or arm_read):
            faults.append(detail)
        if "TEMP B-TREE" in detail and parent in arms:
            faults.append(detail)
    return faults


def _reads_beyond(database: Database, statement: Statement, *, index: str, limit: int) -> list[str]:
    """Why ``statement`` may read more than ``limit`` rows of print_jobs; none: it cannot."""
    if database.engine.dialect.name == "sqlite":
        return _sqlite_plan_faults(_sqlite_plan(database, statement), index)
    ranges, by_key = _mariadb_reads(database, statement)
    return [f"{ranges} rows by range, {by_key} by key"] if max(ranges, by_key) > limit else []


def _cursor_cases(jobs: list[StoredJob], order: JobOrder) -> list[PageArgs]:
    """The first page, a page after a cursor at a value and at a NULL, both directions."""
    column = order.field.value
    mid = len(jobs) // 2
    at_value = next(j for j in jobs[mid:] if j.value(column) is not None)
    cursors = [None, (at_value.value(column), at_value.id)]
    cursors += [(None, j.id) for j in jobs[mid:] if j.value(column) is None][:1]
    cases = []
    for cursor in cursors:
        cases += [PageArgs(first=FIRST, after=cursor), PageArgs(last=FIRST, before=cursor)]
    return cases


@pytest.fixture
def history(database: Database) -> list[StoredJob]:
    jobs = seed_history(database, printers=PRINTERS, jobs=JOBS)
    if database.engine.dialect.name != "sqlite":
        with database.engine.begin() as connection:  # what InnoDB does in the background
            connection.exec_driver_sql("ANALYZE TABLE print_jobs")
    return jobs


def test_a_page_per_printer_by_start_time_reads_at_most_first_plus_one_rows_per_printer(
    database: Database, history: list[StoredJob]
) -> None:
    printer_ids = sorted({job.printer_id for job in history})
    index = "ix_print_jobs_printer_id_start_time"
    faults = []
    for order in ORDERS[:2]:
        for args in _cursor_cases(history, order):
            statement = _statement_of(
                database,
                lambda s, o=order, a=args: fetch_job_pages_per_owner(
                    s, Owner.PRINTER, printer_ids, JobFilter(), o, a
                ),
            )
            limit = PRINTERS * (FIRST + 1)
            faults += _reads_beyond(database, statement, index=index, limit=limit)
    assert faults == []


def test_a_first_page_per_printer_newest_first_reads_at_most_first_plus_one_rows_per_printer(
    database: Database, history: list[StoredJob]
) -> None:
    """Reading down, every ordering's NULLs come last in the index too: one range each,
    so the bound of the acceptance holds for every field (and for the last page, read
    up, where the NULLs come first in both)."""
    printer_ids = sorted({job.printer_id for job in history})
    faults = []
    cases = [(True, PageArgs(first=FIRST)), (True, PageArgs(last=FIRST))]
    for field in JobOrderField:
        for descending, args in cases:
            order = JobOrder(field=field, descending=descending)
            assert len(index_arms(order.sort_keys(), args)) == 1
            statement = _statement_of(
                database,
                lambda s, o=order, a=args: fetch_job_pages_per_owner(
                    s, Owner.PRINTER, printer_ids, JobFilter(), o, a
                ),
            )
            index = f"ix_print_jobs_printer_id_{field.value}"
            faults += _reads_beyond(database, statement, index=index, limit=PRINTERS * (FIRST + 1))
    assert faults == []


def test_a_page_per_printer_reads_at_most_first_plus_one_rows_per_index_range(
    database: Database, history: list[StoredJob]
) -> None:
    printer_ids = sorted({job.printer_id for job in history})
    faults = []
    for order in ORDERS:
        index = f"ix_print_jobs_printer_id_{order.field.value}"
        for args in _cursor_cases(history, order):
            statement = _statement_of(
                database,
                lambda s, o=order, a=args: fetch_job_pages_per_owner(
                    s, Owner.PRINTER, printer_ids, JobFilter(), o, a
                ),
            )
            limit = PRINTERS * len(index_arms(order.sort_keys(), args)) * (FIRST + 1)
            faults += _reads_beyond(database, statement, index=index, limit=limit)
    assert faults == []


def test_a_farm_wide_page_reads_at_most_first_plus_one_rows_per_index_range(
    database: Database, history: list[StoredJob]
) -> None:
    faults = []
    for order in ORDERS:
        index = f"ix_print_jobs_{order.field.value}"
        for args in _cursor_cases(history, order):
            statement = _statement_of(
                database,
                lambda s, o=order, a=args: fetch_job_page(s, JobFilter(), o, a),
            )
            limit = len(index_arms(order.sort_keys(), args)) * (FIRST + 1)
            faults += _reads_beyond(database, statement, index=index, limit=limit)
    assert faults == []


def test_a_farm_wide_page_of_some_printers_reads_at_most_first_plus_one_rows_per_printer_and_range(
    database: Database, history: list[StoredJob]
) -> None:
    two = sorted({job.printer_id for job in history})[:2]
    faults = []
    for order in ORDERS:
        index = f"ix_print_jobs_printer_id_{order.field.value}"
        for args in _cursor_cases(history, order):
            statement = _statement_of(
                database,
                lambda s, o=order, a=args: fetch_job_page(s, JobFilter(printer_ids=two), o, a),
            )
            limit = len(two) * len(index_arms(order.sort_keys(), args)) * (FIRST + 1)
            faults += _reads_beyond(database, statement, index=index, limit=limit)
    assert faults == []
