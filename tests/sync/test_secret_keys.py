"""A sync opens the printer's stored (encrypted) key just before it talks to Moonraker; a
key that does not open is that printer's typed error, never a crash of the run."""

from collections.abc import Iterator

import anyio
import httpx
import pytest
from sqlalchemy import select, text

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.models import Printer
from gql_server.db.secret_box import SecretBox
from gql_server.db.session import Database
from gql_server.services.sync import Syncer, SyncOptions
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.live_server import LiveServer
from tests.sync.conftest import API_KEY, add_printer, requests_by_path, run_sync, sync_all

WRONG_BOX = SecretBox("not-the-secret-the-keys-were-stored-with")


def raw_key(database: Database, printer_id: int) -> str:
    with database.engine.connect() as connection:
        query = text("SELECT moonraker_api_key FROM printers WHERE id = :id")
        return str(connection.execute(query, {"id": printer_id}).scalar_one())


def last_sync_error(database: Database, printer_id: int) -> str | None:
    with database.scope() as session:
        query = select(Printer.last_sync_error_code).where(Printer.id == printer_id)
        return session.scalar(query)


def test_the_stored_key_reaches_moonraker_decrypted(
    database: Database, syncer: Syncer, fake: FakeMoonraker, moonraker_server: FakeMoonrakerServer
) -> None:
    fake.api_key = API_KEY  # the fake answers 401 to any other X-Api-Key
    fake.add_jobs(5, seed=31)
    printer_id = add_printer(database, "voron-1", moonraker_server.url, api_key=API_KEY)
    result = run_sync(syncer, printer_id)
    assert API_KEY not in raw_key(database, printer_id)
    assert (result.ok, result.counts.jobs_created) == (True, 5)


def test_a_key_sealed_with_another_secret_is_a_mismatch_of_that_printer_only(
    database: Database,
    sync_options: SyncOptions,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(3, seed=32)
    keyed = add_printer(database, "keyed", moonraker_server.url, api_key=API_KEY)
    keyless = add_printer(database, "keyless", moonraker_server.url)
    wrong = Syncer(database, sync_options, secret_box=WRONG_BOX)
    results = anyio.run(wrong.sync_printers, [keyed, keyless])
    assert [(r.printer_name, r.error_code) for r in results] == [
        ("keyed", "SECRET_KEY_MISMATCH"),
        ("keyless", None),
    ]
    assert last_sync_error(database, keyed) == "SECRET_KEY_MISMATCH"


def test_a_mismatched_key_is_never_sent(
    database: Database,
    sync_options: SyncOptions,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    printer_id = add_printer(database, "voron-1", moonraker_server.url, api_key=API_KEY)
    run_sync(Syncer(database, sync_options, secret_box=WRONG_BOX), printer_id)
    assert requests_by_path(fake) == {}


def test_a_server_without_a_secret_reports_the_key_unreadable(
    database: Database,
    sync_options: SyncOptions,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    printer_id = add_printer(database, "voron-1", moonraker_server.url, api_key=API_KEY)
    result = run_sync(Syncer(database, sync_options, secret_box=None), printer_id)
    assert (result.error_code, "GQL_SECRET_KEY" in (result.error_message or "")) == (
        "SECRET_KEY_REQUIRED",
        True,
    )


@pytest.fixture
def gql_with_wrong_secret(database: Database, sync_options: SyncOptions) -> Iterator[GraphQLClient]:
    syncer = Syncer(database, sync_options, secret_box=WRONG_BOX)
    app = create_app(Settings(database_url="sqlite://"), database=database, syncer=syncer)
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=make_key(database))


def test_sync_printers_reports_the_mismatch_as_a_typed_error(
    database: Database,
    gql_with_wrong_secret: GraphQLClient,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    add_printer(database, "voron-1", moonraker_server.url, api_key=API_KEY)
    result = sync_all(gql_with_wrong_secret)["voron-1"]
    assert (result["ok"], result["error"]["code"]) == (False, "SECRET_KEY_MISMATCH")
