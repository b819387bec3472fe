"""Printer validation and uniqueness, enforced by the service and the database."""

import pytest
from sqlalchemy import select

from gql_server.db.models import Printer
from gql_server.db.session import Database
from gql_server.services.errors import DuplicateError, NotFoundError, ValidationError
from gql_server.services.printers import (
    PrinterChanges,
    create_printer,
    delete_printer,
    update_printer,
)
from tests.factories import make_printer


def test_a_duplicate_name_is_refused_with_a_clear_error(database: Database) -> None:
    with database.scope() as session:
        make_printer(session, "voron")
    with (
        pytest.raises(DuplicateError, match="already exists") as caught,
        database.scope() as session,
    ):
        make_printer(session, "Voron")
    assert (caught.value.code, caught.value.field) == ("DUPLICATE_NAME", "name")


@pytest.mark.parametrize(
    "url",
    ["ftp://printer", "printer.local:7125", "http://", "javascript:alert(1)", "http://h:99999"],
)
def test_only_http_urls_with_a_host_are_accepted(database: Database, url: str) -> None:
    with pytest.raises(ValidationError) as caught, database.scope() as session:
        create_printer(session, name="p", moonraker_url=url)
    assert (caught.value.code, caught.value.field) == ("INVALID_URL", "moonrakerUrl")


def test_over_long_fields_are_refused(database: Database) -> None:
    with pytest.raises(ValidationError) as caught, database.scope() as session:
        create_printer(session, name="p", moonraker_url="http://h", location="x" * 201)
    assert (caught.value.code, caught.value.field) == ("TOO_LONG", "location")


def test_a_refused_update_leaves_the_printer_unchanged(database: Database) -> None:
    with database.scope() as session:
        first = make_printer(session, "a")
        make_printer(session, "b")
    with pytest.raises(DuplicateError), database.scope() as session:
        update_printer(session, first.id, PrinterChanges(name="b", location="moved"))
    with database.scope() as session:
        stored = session.get(Printer, first.id)
    assert stored is not None and (stored.name, stored.location) == ("a", None)


def test_deleting_an_unknown_printer_is_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError), database.scope() as session:
        delete_printer(session, 12345)


def test_update_can_clear_the_moonraker_key(database: Database) -> None:
    with database.scope() as session:
        printer = make_printer(session, moonraker_api_key="a" * 32)
    with database.scope() as session:
        update_printer(session, printer.id, PrinterChanges(clear_moonraker_api_key=True))
    with database.scope() as session:
        assert session.scalar(select(Printer.moonraker_api_key)) is None
