"""Prices and rates set while their printer goes: no foreign key failure reaches a caller."""

from datetime import timedelta

from sqlalchemy import func, select

from gql_server.db.models import PrinterHourlyRate
from gql_server.db.session import Database
from gql_server.services import prices
from gql_server.services.printers import delete_printer
from tests.factories import EPOCH, make_printer
from tests.support.racing import cut_in_before

NOW = EPOCH + timedelta(days=3)


def test_a_rate_set_as_its_printer_is_deleted_goes_with_it(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id

    def remove_printer() -> None:
        database.scope_run(lambda session: delete_printer(session, printer_id))

    def set_rate() -> None:
        database.scope_run(
            lambda session: prices.set_hourly_cost(
                session, printer_id, 1.5, farm_currency="EUR", now=NOW
            )
        )

    with cut_in_before(database.engine, "INSERT INTO printer_hourly_rates", remove_printer) as cut:
        set_rate()
    with database.scope() as session:
        rates = session.scalar(select(func.count()).select_from(PrinterHourlyRate))
    assert (cut.error, rates) == (None, 0)
