"""syncPrinters end to end: refused addresses are never contacted, and a printer moved to
another origin does not take its stored Moonraker key along."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import IPNetwork, Settings
from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.factories import LOOPBACK
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, closed_port_url
from tests.support.live_server import LiveServer
from tests.sync.conftest import API_KEY, FAST, add_printer, requests_by_path, sync_all

CREATE = """
mutation ($input: CreatePrinterInput!) {
  createPrinter(input: $input) { printer { id } userErrors { code } }
}
"""
UPDATE = """
mutation ($input: UpdatePrinterInput!) {
  updatePrinter(input: $input) {
    printer { hasMoonrakerApiKey } moonrakerApiKeyCleared userErrors { code }
  }
}
"""


@pytest.fixture
def strict_gql(database: Database) -> Iterator[GraphQLClient]:
    """The app as shipped: the default address rule, nothing allowed beyond it."""
    syncer = Syncer(database, replace(FAST, allowed_networks=()))
    app = create_app(Settings(database_url="sqlite://"), database=database, syncer=syncer)
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=make_key(database, "WRITE"))


def refusal(url: str) -> dict[str, str]:
    where = url.removeprefix("http://")
    message = f"the address of {where} is refused (see GQL_MOONRAKER_ALLOWED_NETWORKS)"
    return {"code": "ADDRESS_REFUSED", "message": message}


def test_a_printer_at_a_refused_address_is_never_contacted(
    database: Database,
    strict_gql: GraphQLClient,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(3, seed=40)
    add_printer(database, "inside", moonraker_server.url)  # saved before the rule, say
    result = sync_all(strict_gql)["inside"]
    assert (result["error"], result["jobsCreated"]) == (refusal(moonraker_server.url), 0)
    assert requests_by_path(fake) == Counter()


def test_open_and_closed_ports_get_the_same_refusal(
    database: Database, strict_gql: GraphQLClient, moonraker_server: FakeMoonrakerServer
) -> None:
    closed = closed_port_url()
    add_printer(database, "open", moonraker_server.url)
    add_printer(database, "closed", closed)
    results = sync_all(strict_gql)
    errors = {name: result["error"] for name, result in results.items()}
    assert errors == {"open": refusal(moonraker_server.url), "closed": refusal(closed)}


def test_a_write_key_cannot_send_the_stored_moonraker_key_to_another_host(
    database: Database,
    gql: GraphQLClient,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
) -> None:
    # Both fakes answer only requests carrying API_KEY, so the attacker's fake syncing
    # fine would prove the key reached it.
    fake.api_key = other_fake.api_key = API_KEY
    fake.add_jobs(2, seed=41)
    other_fake.add_jobs(2, seed=42)
    writer = GraphQLClient(http=gql.http, key=make_key(database, "WRITE", name="writer"))
    created = writer.execute(
        CREATE,
        {
            "input": {
                "name": "voron",
                "moonrakerUrl": moonraker_server.url,
                "moonrakerApiKey": API_KEY,
            }
        },
    )["createPrinter"]
    assert sync_all(writer)["voron"]["ok"] is True
    moved = writer.execute(
        UPDATE,
        {"input": {"id": created["printer"]["id"], "moonrakerUrl": other_moonraker_server.url}},
    )["updatePrinter"]
    after_move = sync_all(writer)["voron"]["error"]
    assert after_move == {
        "code": "AUTH_FAILED",
        "message": "the printer requires an API key (HTTP 401)",
    }
    assert (moved["moonrakerApiKeyCleared"], moved["printer"]["hasMoonrakerApiKey"]) == (
        True,
        False,
    )


@pytest.mark.parametrize(
    ("allowed", "outcome"), [((), "ADDRESS_REFUSED"), (LOOPBACK, None)], ids=["default", "loopback"]
)
def test_the_app_syncs_with_the_networks_its_settings_allow(
    database: Database,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    allowed: tuple[IPNetwork, ...],
    outcome: str | None,
) -> None:
    fake.add_jobs(1, seed=43)
    add_printer(database, "voron", moonraker_server.url)
    settings = Settings(database_url="sqlite://", moonraker_allowed_networks=allowed)
    app = create_app(settings, database=database)  # the app's own Syncer, as served
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        result = sync_all(GraphQLClient(http=http, key=make_key(database, "WRITE")))["voron"]
    assert (result["error"] or {}).get("code") == outcome
