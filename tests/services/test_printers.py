"""Printer validation and uniqueness, enforced by the service and the database."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gql_server.db.models import Printer
from gql_server.db.session import Database
from gql_server.services.errors import DuplicateError, NotFoundError, ValidationError
from gql_server.services.printers import (
    PrinterChanges,
    create_printer,
    delete_printer,
    same_origin,
    update_printer,
)
from tests.factories import LOOPBACK, TEST_BOX, make_printer

LOOPBACK_HOST = "127.0.0.1"


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
    ("first", "second", "refused"),
    [
        ("voron", "VORON", True),
        ("Voron", " voron ", True),
        ("ÉCOLE", "école", True),  # SQLite's lower() folds ASCII only
        ("Straße", "STRASSE", True),
        ("José", "Jose", False),  # MariaDB's collation alone would call these equal
        ("Prusa MK4", "Prusa MK4S", False),
    ],
)
def test_names_are_unique_by_the_same_rule_on_every_database(
    database: Database, first: str, second: str, *, refused: bool
) -> None:
    with database.scope() as session:
        make_printer(session, first, moonraker_url=f"http://{LOOPBACK_HOST}:7125")
    if refused:
        with pytest.raises(DuplicateError) as caught, database.scope() as session:
            make_printer(session, second, moonraker_url=f"http://{LOOPBACK_HOST}:7126")
        assert caught.value.code == "DUPLICATE_NAME"
    else:
        with database.scope() as session:
            make_printer(session, second, moonraker_url=f"http://{LOOPBACK_HOST}:7126")
    with database.scope() as session:
        names = session.scalars(select(Printer.name).order_by(Printer.id)).all()
    assert names == ([first] if refused else [first, second.strip()])


def test_a_rename_to_a_name_that_folds_alike_is_refused(database: Database) -> None:
    with database.scope() as session:
        make_printer(session, "Straße", moonraker_url=f"http://{LOOPBACK_HOST}:7125")
        other_id = make_printer(session, "other").id
    with pytest.raises(DuplicateError) as caught, database.scope() as session:
        update_printer(session, other_id, PrinterChanges(name="STRASSE"))
    assert caught.value.code == "DUPLICATE_NAME"
    with database.scope() as session:
        update_printer(session, other_id, PrinterChanges(name="OTHER"))  # its own, recased
    with database.scope() as session:
        assert session.scalars(select(Printer.name).order_by(Printer.id)).all() == [
            "Straße",
            "OTHER",
        ]


def test_the_unique_index_refuses_what_the_check_would_miss(database: Database) -> None:
    """Two processes may both pass the pre-check; the index on the folded name decides."""
    with database.scope() as session:
        make_printer(session, "Straße", moonraker_url=f"http://{LOOPBACK_HOST}:7125")
    with pytest.raises(IntegrityError), database.scope() as session:
        session.add(Printer(name="STRASSE", moonraker_url="http://127.0.0.1:7125"))
        session.flush()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://printer",
        "printer.local:7125",
        "http://",
        "javascript:alert(1)",
        "http://h:99999",
        "http://１２７.０.０.１:18500",  # full-width digits: the HTTP client cannot use it
        "http://①②⑦.0.0.1:18500",
        "http://xn--/",
        "http://xn--a.lan/",
        "http://ａ.lan",
    ],
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


# --- the address rule and the Moonraker key -------------------------------------------

ISSUE_URLS = [
    "http://169.254.169.254/latest/meta-data",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://2852039166/",
    "http://0x7f.1/",
    "http://[::ffff:169.254.169.254]/",
    "http://127.0.0.1:6379",
    "http://localhost:3306",
]


@pytest.mark.parametrize("url", ISSUE_URLS)
def test_urls_at_refused_addresses_are_refused_naming_the_setting(
    database: Database, url: str
) -> None:
    with pytest.raises(ValidationError) as caught, database.scope() as session:
        create_printer(session, name="p", moonraker_url=url)
    assert (caught.value.code, caught.value.field) == ("ADDRESS_REFUSED", "moonrakerUrl")
    assert "GQL_MOONRAKER_ALLOWED_NETWORKS" in caught.value.message


def test_private_network_urls_are_accepted(database: Database) -> None:
    urls = ["http://192.168.1.20:7125", "http://10.0.0.5", "https://[fd12:3456::20]:7130"]
    with database.scope() as session:
        stored = [
            create_printer(session, name=f"p{n}", moonraker_url=url) for n, url in enumerate(urls)
        ]
    assert [printer.moonraker_url for printer in stored] == urls


@pytest.mark.parametrize(
    "url", ["http://0300.0250.1.20", "http://3232235796", "http://192.168.276"]
)
def test_allowed_ipv4_addresses_must_be_spelled_as_four_decimals(
    database: Database, url: str
) -> None:
    with pytest.raises(ValidationError) as caught, database.scope() as session:
        create_printer(session, name="p", moonraker_url=url)
    assert (caught.value.code, caught.value.message) == (
        "INVALID_URL",
        "moonrakerUrl must write an IPv4 address as four decimal numbers (192.168.1.20)",
    )


def test_a_host_is_judged_as_the_http_client_reads_it(database: Database) -> None:
    """IDNA turns ideographic full stops into dots: 127。0。0。1 connects to 127.0.0.1."""
    with pytest.raises(ValidationError) as caught, database.scope() as session:
        create_printer(session, name="p", moonraker_url="http://127。0。0。1:7125")
    assert caught.value.code == "ADDRESS_REFUSED"


def test_allowed_networks_let_their_addresses_through(database: Database) -> None:
    with database.scope() as session:
        printer = create_printer(
            session, name="p", moonraker_url="http://127.0.0.1:7125", allowed_networks=LOOPBACK
        )
    assert printer.moonraker_url == "http://127.0.0.1:7125"


def test_an_update_to_a_refused_url_changes_nothing(database: Database) -> None:
    with database.scope() as session:
        printer = make_printer(session, moonraker_url="http://voron.lan:7125")
    with pytest.raises(ValidationError), database.scope() as session:
        changes = PrinterChanges(moonraker_url="http://169.254.169.254")
        update_printer(session, printer.id, changes)
    with database.scope() as session:
        assert session.scalar(select(Printer.moonraker_url)) == "http://voron.lan:7125"


KEY = "a" * 32
NEW_KEY = "b" * 32


def moved_key(database: Database, new_url: str, new_key: str | None = None) -> tuple[bool, str]:
    """Move a keyed printer at http://voron.lan:7125 to `new_url`: (the update's
    moonraker_api_key_cleared, what became of the stored key: kept, replaced or cleared).
    Stored values are compared, not read as plaintext, so this holds for sealed keys too."""
    with database.scope() as session:
        printer = make_printer(
            session, moonraker_url="http://voron.lan:7125", moonraker_api_key=KEY
        )
        session.flush()
        before = printer.moonraker_api_key
    with database.scope() as session:
        update = PrinterChanges(moonraker_url=new_url, moonraker_api_key=new_key)
        updated = update_printer(session, printer.id, update, secret_box=TEST_BOX)
        cleared = updated.moonraker_api_key_cleared
    with database.scope() as session:
        after = session.scalar(select(Printer.moonraker_api_key))
    fate = "cleared" if after is None else "kept" if after == before else "replaced"
    return cleared, fate


@pytest.mark.parametrize(
    "new_url",
    ["http://attacker.example:7125", "https://voron.lan:7125", "http://voron.lan:7126"],
    ids=["host", "scheme", "port"],
)
def test_a_new_origin_clears_the_stored_key(database: Database, new_url: str) -> None:
    assert moved_key(database, new_url) == (True, "cleared")


@pytest.mark.parametrize(
    "new_url",
    ["http://voron.lan:7125/moonraker", "HTTP://VORON.LAN:7125", "http://voron.lan.:7125/"],
    ids=["path", "case", "trailing dot"],
)
def test_the_same_origin_keeps_the_stored_key(database: Database, new_url: str) -> None:
    assert moved_key(database, new_url) == (False, "kept")


def test_a_new_key_given_with_the_new_origin_is_kept(database: Database) -> None:
    moved = moved_key(database, "http://voron-2.lan:7125", new_key=NEW_KEY)
    assert moved == (False, "replaced")


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("http://voron.lan", "http://voron.lan:80", True),
        ("https://voron.lan", "https://voron.lan:443/x", True),
        ("http://127.1:7125", "http://127.0.0.1:7125", True),
        ("http://[::1]:7125", "http://[0:0::1]:7125", True),
        ("http://voron.lan", "https://voron.lan", False),
        ("http://voron.lan:80", "http://voron.lan:8080", False),
        ("http://voron.lan", "http://voron.lan.example", False),
        ("http://voron.lan:99999", "http://voron.lan:99999", False),
    ],
)
def test_same_origin_compares_scheme_host_and_port(first: str, second: str, same: bool) -> None:
    assert same_origin(first, second) is same
