"""Job pages read through index ranges hold exactly the rows that sorting every job
would give: NULLs last in both directions, ties by id, the same cursors, on every
ordering, per printer and farm-wide."""

import functools
from collections.abc import Sequence
from typing import Any

from gql_server.db.session import Database
from gql_server.services.job_queries import (
    JobFilter,
    JobOrder,
    JobOrderField,
    Owner,
    fetch_job_page,
    fetch_job_pages_per_owner,
)
from gql_server.services.pagination import Page, PageArgs, Position
from tests.support.job_history import StoredJob, seed_history
from tests.support.sql_counter import count_statements

SIZE = 4
ORDERS = [
    JobOrder(field=field, descending=descending)
    for field in JobOrderField
    for descending in (True, False)
]


def _compare(order: JobOrder, a: Position, b: Position) -> int:
    """-1, 0 or 1 as position ``a`` comes before, at or after ``b`` in ``order``."""
    if a == b:
        return 0
    (a_value, a_id), (b_value, b_id) = a, b
    if (a_value is None) != (b_value is None):
        return 1 if a_value is None else -1  # NULLs last, either way
    before = a_id < b_id if a_value is None else (a_value, a_id) < (b_value, b_id)
    return -1 if before != order.descending else 1


def _position(order: JobOrder, job: StoredJob) -> Position:
    return (job.value(order.field.value), job.id)


def _sorted_page(jobs: Sequence[StoredJob], order: JobOrder, args: PageArgs) -> Page[int]:
    """The page as sorting every job gives it, with build_page's hasNext/hasPrevious."""

    def compare(a: StoredJob, b: StoredJob) -> int:
        return _compare(order, _position(order, a), _position(order, b))

    rows = sorted(jobs, key=functools.cmp_to_key(compare))
    inside = [
        job.id
        for job in rows
        if (args.after is None or _compare(order, _position(order, job), args.after) > 0)
        and (args.before is None or _compare(order, _position(order, job), args.before) < 0)
    ]
    if args.backwards:
        return Page(inside[-SIZE:], args.before is not None, len(inside) > SIZE)
    return Page(inside[:SIZE], len(inside) > SIZE, args.after is not None)


def _ids(page: Page[Any]) -> Page[int]:
    return Page([row.id for row in page.items], page.has_next, page.has_previous)


def _cursor_cases(jobs: Sequence[StoredJob], order: JobOrder) -> list[PageArgs]:
    """No cursor, a cursor at a value (tied with other jobs where the key repeats), a
    cursor at a NULL, and both cursors, in both directions."""
    column = order.field.value
    valued = [_position(order, j) for j in jobs if j.value(column) is not None]
    nulls = [_position(order, j) for j in jobs if j.value(column) is None]
    cursors: list[Position | None] = [None, valued[len(valued) // 2], valued[7]]
    cursors += nulls[len(nulls) // 2 : len(nulls) // 2 + 1]
    cases = []
    for cursor in cursors:
        cases += [PageArgs(first=SIZE, after=cursor), PageArgs(last=SIZE, before=cursor)]
    for after, before in [(valued[3], valued[-3]), (valued[3], nulls[-1] if nulls else None)]:
        cases += [PageArgs(first=SIZE, after=after, before=before)]
        cases += [PageArgs(last=SIZE, after=after, before=before)]
    return cases


def test_every_printers_page_is_the_page_of_sorting_its_jobs(database: Database) -> None:
    jobs = seed_history(database, printers=3, jobs=60)
    printer_ids = sorted({job.printer_id for job in jobs})
    wrong = []
    with database.scope() as session:
        for order in ORDERS:
            for args in _cursor_cases(jobs, order):
                pages = fetch_job_pages_per_owner(
                    session, Owner.PRINTER, printer_ids, JobFilter(), order, args
                )
                for printer_id in printer_ids:
                    own = [job for job in jobs if job.printer_id == printer_id]
                    if _ids(pages[printer_id]) != _sorted_page(own, order, args):
                        wrong.append((order, args, printer_id))
    assert wrong == []


def test_first_pages_of_other_printers_in_the_same_number_are_their_own(
    database: Database,
) -> None:
    """The statement of an unfiltered first page is built once per number of printers
    and reused with other printers bound: each still gets its own jobs."""
    jobs = seed_history(database, printers=4, jobs=60)
    printer_ids = sorted({job.printer_id for job in jobs})
    batches = [printer_ids[:2], printer_ids[2:], printer_ids[::-1][:2], printer_ids[1:3]]
    wrong = []
    with database.scope() as session:
        for order in ORDERS:
            for args in (PageArgs(first=SIZE), PageArgs(last=SIZE)):
                for batch in batches:
                    pages = fetch_job_pages_per_owner(
                        session, Owner.PRINTER, batch, JobFilter(), order, args
                    )
                    for printer_id in batch:
                        own = [job for job in jobs if job.printer_id == printer_id]
                        if _ids(pages[printer_id]) != _sorted_page(own, order, args):
                            wrong.append((order, args, batch, printer_id))
    assert wrong == []


def test_a_farm_wide_page_is_the_page_of_sorting_every_job(database: Database) -> None:
    jobs = seed_history(database, printers=3, jobs=60)
    wrong = []
    with database.scope() as session:
        for order in ORDERS:
            for args in _cursor_cases(jobs, order):
                page = fetch_job_page(session, JobFilter(), order, args)
                if _ids(page) != _sorted_page(jobs, order, args):
                    wrong.append((order, args))
    assert wrong == []


def test_a_filtered_farm_wide_page_is_the_page_of_sorting_the_matching_jobs(
    database: Database,
) -> None:
    jobs = seed_history(database, printers=3, jobs=60)
    two = sorted({job.printer_id for job in jobs})[:2]
    mine = [job for job in jobs if job.printer_id in two and job.status == "completed"]
    job_filter = JobFilter(printer_ids=[*two, two[0]], statuses=["completed"])
    wrong = []
    with database.scope() as session:
        for order in ORDERS:
            for args in _cursor_cases(mine, order):
                page = fetch_job_page(session, job_filter, order, args)
                if _ids(page) != _sorted_page(mine, order, args):
                    wrong.append((order, args))
    assert wrong == []


def test_a_batch_of_more_arms_than_sqlites_compound_limit_is_one_statement(
    database: Database,
) -> None:
    jobs = seed_history(database, printers=2, jobs=30)
    printer_ids = sorted({job.printer_id for job in jobs})
    batch = [*printer_ids, *range(max(printer_ids) + 1, max(printer_ids) + 199)]
    order = JobOrder(field=JobOrderField.END_TIME)
    cursor = _cursor_cases(jobs, order)[2]  # three arms per printer: 600 in all
    with database.scope() as session, count_statements(database.engine) as log:
        pages = fetch_job_pages_per_owner(session, Owner.PRINTER, batch, JobFilter(), order, cursor)
    expected = {
        pid: _sorted_page([j for j in jobs if j.printer_id == pid], order, cursor)
        for pid in printer_ids
    }
    assert log.count == 1
    assert {pid: _ids(pages[pid]) for pid in printer_ids} == expected
