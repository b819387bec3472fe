"""createPrinter and updatePrinter store Moonraker keys encrypted, and refuse to store one
when the server has no secret (GQL_SECRET_KEY), saying how to set it."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from tests.factories import TEST_BOX
from tests.graphql.conftest import GraphQLClient, make_key
from tests.graphql.test_printer_mutations import CREATE, UPDATE
from tests.support.live_server import LiveServer

KEY = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
ONE_LINER = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


@pytest.fixture
def gql_without_secret(database: Database) -> Iterator[GraphQLClient]:
    app = create_app(Settings(database_url="sqlite://", secret_key=None), database=database)
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=make_key(database))


def new_printer(**fields: str) -> dict[str, str]:
    return {"name": "voron", "moonrakerUrl": "http://voron.local:7125", **fields}


def raw_keys(database: Database) -> list[str | None]:
    with database.engine.connect() as connection:
        query = text("SELECT moonraker_api_key FROM printers ORDER BY id")
        return list(connection.execute(query).scalars())


def test_a_key_given_to_create_is_stored_encrypted(gql: GraphQLClient, database: Database) -> None:
    payload = gql.execute(CREATE, {"input": new_printer(moonrakerApiKey=KEY)})["createPrinter"]
    (stored,) = raw_keys(database)
    assert (payload["userErrors"], KEY in (stored or "")) == ([], False)
    assert TEST_BOX.decrypt(stored or "") == KEY


def test_without_a_secret_create_with_a_key_is_refused(
    gql_without_secret: GraphQLClient, database: Database
) -> None:
    payload = gql_without_secret.execute(CREATE, {"input": new_printer(moonrakerApiKey=KEY)})
    (error,) = payload["createPrinter"]["userErrors"]
    assert (error["code"], error["field"]) == ("SECRET_KEY_REQUIRED", ["input", "moonrakerApiKey"])
    assert "GQL_SECRET_KEY" in error["message"] and ONE_LINER in error["message"]
    assert (payload["createPrinter"]["printer"], raw_keys(database)) == (None, [])


def test_without_a_secret_update_with_a_key_is_refused(
    gql_without_secret: GraphQLClient, database: Database
) -> None:
    created = gql_without_secret.execute(CREATE, {"input": new_printer()})["createPrinter"]
    change = {"id": created["printer"]["id"], "moonrakerApiKey": KEY}
    payload = gql_without_secret.execute(UPDATE, {"input": change})["updatePrinter"]
    assert [e["code"] for e in payload["userErrors"]] == ["SECRET_KEY_REQUIRED"]
    assert raw_keys(database) == [None]


def test_without_a_secret_printers_without_a_key_still_work(
    gql_without_secret: GraphQLClient,
) -> None:
    created = gql_without_secret.execute(CREATE, {"input": new_printer()})["createPrinter"]
    change = {"id": created["printer"]["id"], "location": "rack 2", "moonrakerApiKey": None}
    updated = gql_without_secret.execute(UPDATE, {"input": change})["updatePrinter"]
    assert (created["userErrors"], updated["userErrors"]) == ([], [])
    assert updated["printer"]["location"] == "rack 2"
