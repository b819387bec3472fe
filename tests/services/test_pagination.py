"""Cursor positions checked by the service itself, whoever decoded them."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from gql_server.db.models import Printer, PrintJob
from gql_server.db.session import Database
from gql_server.services.pagination import PageArgs, is_valid_position, keyset_keys
from gql_server.services.printer_queries import (
    PrinterFilter,
    PrinterOrder,
    PrinterOrderField,
    fetch_printer_page,
    printer_cursor_position,
)
from tests.factories import make_printer

KEYS = keyset_keys(PrintJob.end_time, PrintJob.id, descending=False, nullable=True)


def test_a_position_with_a_value_for_each_key_is_valid() -> None:
    assert is_valid_position(KEYS, (datetime(2026, 2, 1), 7))


def test_a_position_with_a_value_missing_or_extra_is_invalid() -> None:
    assert (is_valid_position(KEYS, (7,)), is_valid_position(KEYS, (None, 7, 8))) == (False, False)


# --- walking pages: every row once, in order, with ties and NULLs in the sort key ----------

# Ties (the same instant twice or three times) and NULLs (never seen) in one column: the
# id breaks ties in the column's direction, and NULLs sort last either way.
SEEN = [None, 2, 1, 2, None, 1, 3, 1]


def _printers(database: Database) -> dict[int, int | None]:
    base = datetime(2026, 5, 1, tzinfo=UTC)
    seen: dict[int, int | None] = {}
    with database.scope() as session:
        for index, hours in enumerate(SEEN):
            printer = make_printer(session, f"printer-{index}")
            last_seen = None if hours is None else base + timedelta(hours=hours)
            session.execute(
                update(Printer).where(Printer.id == printer.id).values(last_seen=last_seen)
            )
            seen[printer.id] = hours
    return seen


def _expected(seen: dict[int, int | None], *, descending: bool) -> list[int]:
    present = sorted((hours, printer_id) for printer_id, hours in seen.items() if hours is not None)
    missing = sorted(printer_id for printer_id, hours in seen.items() if hours is None)
    if descending:
        return [printer_id for _, printer_id in reversed(present)] + missing[::-1]
    return [printer_id for _, printer_id in present] + missing


def _walk(database: Database, order: PrinterOrder, size: int, *, backwards: bool) -> list[int]:
    """Every page of ``size`` through the cursors, as a client pages; bounded in pages."""
    walked: list[int] = []
    position = None
    for _ in range(len(SEEN) + 1):
        if backwards:
            args = PageArgs(last=size, before=position)
        else:
            args = PageArgs(first=size, after=position)
        with database.scope() as session:
            page = fetch_printer_page(session, PrinterFilter(), order, args)
        ids = [row.id for row in page.items]
        walked = ids + walked if backwards else walked + ids
        more = page.has_previous if backwards else page.has_next
        if not more:
            return walked
        edge = page.items[0] if backwards else page.items[-1]
        position = printer_cursor_position(order, edge)
    raise AssertionError(f"more pages than rows: {walked}")


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("backwards", [False, True], ids=["forward", "backward"])
def test_paging_visits_every_row_once_in_order_through_ties_and_nulls(
    database: Database, descending: bool, size: int, backwards: bool
) -> None:
    seen = _printers(database)
    order = PrinterOrder(PrinterOrderField.LAST_SEEN, descending=descending)
    expected = _expected(seen, descending=descending)
    assert _walk(database, order, size, backwards=backwards) == expected
