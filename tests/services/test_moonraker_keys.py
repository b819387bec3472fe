"""Moonraker API keys at rest: never stored in plain text, refused without a secret,
re-sealed whole or not at all by a rotation."""

import pytest
from sqlalchemy import text

from gql_server.db.secret_box import SecretBox
from gql_server.db.session import Database
from gql_server.services.moonraker_keys import SecretKeyError, open_api_key, rotate_api_keys
from gql_server.services.printers import PrinterChanges, update_printer
from tests.factories import TEST_BOX, make_printer

KEY = "5f0e0c6b1d2a4e8f9b3c7d6e1a2b3c4d"
OTHER_KEY = "0123456789abcdef0123456789abcdef"
NEW_BOX = SecretBox("the-next-secret-of-at-least-32-characters")


def raw_keys(database: Database) -> list[str | None]:
    """The column as SQL sees it, past the ORM."""
    with database.engine.connect() as connection:
        query = text("SELECT moonraker_api_key FROM printers ORDER BY id")
        return list(connection.execute(query).scalars())


def keyed_printer(database: Database, name: str = "voron", key: str = KEY) -> int:
    with database.scope() as session:
        return make_printer(session, name, moonraker_api_key=key).id


def test_a_created_key_is_stored_encrypted(database: Database) -> None:
    keyed_printer(database)
    (stored,) = raw_keys(database)
    assert stored is not None and KEY not in stored
    assert TEST_BOX.decrypt(stored) == KEY


def test_an_updated_key_is_stored_encrypted(database: Database) -> None:
    printer_id = keyed_printer(database)
    with database.scope() as session:
        changes = PrinterChanges(moonraker_api_key=OTHER_KEY)
        update_printer(session, printer_id, changes, secret_box=TEST_BOX)
    (stored,) = raw_keys(database)
    assert stored is not None and OTHER_KEY not in stored
    assert TEST_BOX.decrypt(stored) == OTHER_KEY


def test_creating_with_a_key_but_no_secret_is_refused(database: Database) -> None:
    with pytest.raises(SecretKeyError) as caught, database.scope() as session:
        make_printer(session, moonraker_api_key=KEY, secret_box=None)
    assert (caught.value.code, caught.value.field) == ("SECRET_KEY_REQUIRED", "moonrakerApiKey")
    assert raw_keys(database) == []


def test_updating_a_key_without_a_secret_is_refused(database: Database) -> None:
    printer_id = keyed_printer(database)
    before = raw_keys(database)
    with pytest.raises(SecretKeyError, match="GQL_SECRET_KEY"), database.scope() as session:
        update_printer(session, printer_id, PrinterChanges(moonraker_api_key=OTHER_KEY))
    assert raw_keys(database) == before


def test_printers_without_a_key_need_no_secret(database: Database) -> None:
    with database.scope() as session:
        printer = make_printer(session, secret_box=None)
        update_printer(session, printer.id, PrinterChanges(location="rack 2"))
        update_printer(session, printer.id, PrinterChanges(clear_moonraker_api_key=True))
    assert raw_keys(database) == [None]


def test_a_key_opens_only_with_the_secret_it_was_sealed_with(database: Database) -> None:
    keyed_printer(database)
    (stored,) = raw_keys(database)
    with pytest.raises(SecretKeyError) as caught:
        open_api_key(stored, NEW_BOX)
    assert (open_api_key(stored, TEST_BOX), caught.value.code) == (KEY, "SECRET_KEY_MISMATCH")


def test_rotation_reseals_every_key_under_the_new_secret(database: Database) -> None:
    keyed_printer(database, "voron", KEY)
    keyed_printer(database, "prusa", OTHER_KEY)
    with database.scope() as session:
        make_printer(session, "keyless")
        rotation = rotate_api_keys(session, old=TEST_BOX, new=NEW_BOX)
    stored = raw_keys(database)
    assert rotation.keys_reencrypted == 2
    assert [None if s is None else NEW_BOX.decrypt(s) for s in stored] == [KEY, OTHER_KEY, None]


def test_rotation_from_the_wrong_secret_changes_nothing(database: Database) -> None:
    keyed_printer(database, "voron", KEY)
    before = raw_keys(database)
    with pytest.raises(SecretKeyError, match="'voron'"), database.scope() as session:
        rotate_api_keys(session, old=NEW_BOX, new=TEST_BOX)
    assert raw_keys(database) == before
