"""Reading printers and their totals: keyset pages and batch lookups for loaders."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gql_server.db.models import JobTotals, Printer
from gql_server.services.column_order import PrinterOrder as PrinterOrder
from gql_server.services.column_order import PrinterOrderField as PrinterOrderField
from gql_server.services.pagination import (
    Page,
    PageArgs,
    build_page,
    order_by,
    position_of,
    window,
)
from gql_server.services.sql_filters import contains, equals_folded


@dataclass(frozen=True, slots=True)
class PrinterFilter:
    ids: Sequence[int] | None = None
    is_active: bool | None = None
    name_contains: str | None = None
    location: str | None = None


def _conditions(printer_filter: PrinterFilter) -> list[Any]:
    f = printer_filter
    conditions: list[Any] = []
    if f.ids is not None:
        conditions.append(Printer.id.in_(list(f.ids)))
    if f.is_active is not None:
        conditions.append(Printer.is_active.is_(f.is_active))
    if f.name_contains:
        conditions.append(contains(Printer.name_folded, f.name_contains))
    if f.location is not None:
        conditions.append(equals_folded(Printer.location_folded, f.location))
    return conditions


# Reads return Core rows (attribute access like the models), not ORM objects: nothing
# changes them, and the identity map and instance state cost time on every fleet page
# (bench/fleet_query.py measures it).
PRINTER_COLUMNS = list(Printer.__table__.c)
TOTALS_COLUMNS = list(JobTotals.__table__.c)


def _query(printer_filter: PrinterFilter, order: PrinterOrder, args: PageArgs) -> Select[Any]:
    keys = order.sort_keys()
    return (
        select(*PRINTER_COLUMNS)
        .where(*_conditions(printer_filter), *window(keys, args))
        .order_by(*order_by(keys, reverse=args.backwards))
    )


def fetch_printer_page(
    session: Session, printer_filter: PrinterFilter, order: PrinterOrder, args: PageArgs
) -> Page[Any]:
    query = _query(printer_filter, order, args).limit(args.size + 1)
    return build_page(session.connection().execute(query).all(), args)


def count_printers(session: Session, printer_filter: PrinterFilter) -> int:
    query = select(func.count()).select_from(Printer).where(*_conditions(printer_filter))
    return session.scalar(query) or 0


def printer_cursor_position(order: PrinterOrder, printer: Any) -> tuple[Any, ...]:
    return position_of(order.sort_keys(), printer)


def fetch_printers_by_ids(session: Session, printer_ids: Sequence[int]) -> dict[int, Any]:
    query = select(*PRINTER_COLUMNS).where(Printer.id.in_(list(printer_ids)))
    return {printer.id: printer for printer in session.connection().execute(query)}


def fetch_totals_for_printers(session: Session, printer_ids: Sequence[int]) -> dict[int, Any]:
    query = select(*TOTALS_COLUMNS).where(JobTotals.printer_id.in_(list(printer_ids)))
    return {totals.printer_id: totals for totals in session.connection().execute(query)}


def fetch_totals_by_id(session: Session, totals_id: int) -> JobTotals | None:
    return session.get(JobTotals, totals_id)
