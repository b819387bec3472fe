"""API keys over GraphQL: the secret is shown once, stored never; last_used is cheap."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import MetaData, select

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.models import ApiKey
from gql_server.db.session import Database
from gql_server.services.api_keys import KEY_TYPE_PREFIX, SECRET_LENGTH, hash_key
from tests.factories import EPOCH, make_printer
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.live_server import LiveServer
from tests.support.sql_counter import count_statements

API_KEY_FIELDS = "id databaseId name keyPrefix scopes isActive lastUsed expiresAt createdAt"
CREATE = f"""
mutation ($input: CreateApiKeyInput!) {{
  createApiKey(input: $input) {{
    key apiKey {{ {API_KEY_FIELDS} }} userErrors {{ field message code }}
  }}
}}
"""
REVOKE = f"""
mutation ($id: ID!) {{
  revokeApiKey(input: {{id: $id}}) {{
    apiKey {{ {API_KEY_FIELDS} }} userErrors {{ field message code }}
  }}
}}
"""
VIEWER = f"{{ viewer {{ {API_KEY_FIELDS} }} }}"
LIST = f"{{ apiKeys(first: 100) {{ nodes {{ {API_KEY_FIELDS} }} }} }}"
NODE = f"query ($id: ID!) {{ node(id: $id) {{ ... on ApiKey {{ {API_KEY_FIELDS} }} }} }}"
PRINTERS = "{ printers(first: 1) { nodes { name } } }"


def _secret(key: str) -> str:
    return key[len(KEY_TYPE_PREFIX) : len(KEY_TYPE_PREFIX) + SECRET_LENGTH]


def _create(gql: GraphQLClient, **input: object) -> dict:
    return gql.execute(CREATE, {"input": {"name": "ci", "scopes": ["READ"], **input}})[
        "createApiKey"
    ]


def _database_text(database: Database) -> list[str]:
    """Every value of every column of every table, as text."""
    metadata = MetaData()
    metadata.reflect(database.engine)
    values = []
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                values.extend(str(value) for value in row)
    return values


# --- the plaintext is shown once and stored nowhere ----------------------------------------


def test_the_plaintext_key_appears_only_in_the_create_payload(gql: GraphQLClient) -> None:
    created = gql.post(CREATE, {"input": {"name": "ci", "scopes": ["READ", "WRITE"]}})
    payload = created.json()["data"]["createApiKey"]
    key, key_id = payload["key"], payload["apiKey"]["id"]
    later = [
        gql.post(LIST),
        gql.post(VIEWER, key=key),
        gql.post(NODE, {"id": key_id}),
        gql.post(REVOKE, {"id": key_id}),
        gql.post(VIEWER, key=key),  # now refused: the 401 must not echo it either
    ]
    assert created.text.count(key) == 1
    leaks = [r.request.content for r in later if key in r.text or key in str(r.headers)]
    assert leaks == []
    assert [r.status_code for r in later] == [200, 200, 200, 200, 401]


def test_neither_the_key_nor_its_secret_is_stored_in_any_column(
    gql: GraphQLClient, database: Database
) -> None:
    key = _create(gql, name="scan-me")["key"]
    gql.execute(VIEWER, key=key)  # use it too: last_used is written
    values = _database_text(database)
    assert "scan-me" in values and hash_key(key) in values  # the scan sees the key's row
    assert [v for v in values if key in v or _secret(key) in v] == []


# --- createApiKey / revokeApiKey ----------------------------------------------------------


def test_scopes_are_stored_and_returned_in_rank_order(
    gql: GraphQLClient, database: Database
) -> None:
    payload = _create(gql, scopes=["WRITE", "READ", "WRITE"])
    with database.scope() as session:
        stored = session.get(ApiKey, payload["apiKey"]["databaseId"])
    assert payload["apiKey"]["scopes"] == ["READ", "WRITE"]
    assert stored is not None and stored.scopes == "READ WRITE"


def test_an_expiry_in_the_past_is_a_user_error(gql: GraphQLClient) -> None:
    payload = _create(gql, expiresAt="2020-01-01T00:00:00+00:00")
    assert payload == {
        "key": None,
        "apiKey": None,
        "userErrors": [
            {
                "field": ["input", "expiresAt"],
                "message": "expiresAt must be in the future",
                "code": "INVALID_EXPIRY",
            }
        ],
    }
    assert [n["name"] for n in gql.execute(LIST)["apiKeys"]["nodes"]] == ["test"]


def test_a_key_without_scopes_is_a_user_error(gql: GraphQLClient) -> None:
    payload = _create(gql, scopes=[])
    assert (payload["key"], payload["apiKey"]) == (None, None)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "scopes"], "REQUIRED")
    ]


def test_a_read_key_cannot_read_other_keys_through_node(
    gql: GraphQLClient, database: Database
) -> None:
    admin_id = gql.execute("{ viewer { id } }")["viewer"]["id"]
    reader = make_key(database, "READ WRITE", name="reader")
    body = gql.post(NODE, {"id": admin_id}, key=reader).json()
    assert body["data"] == {"node": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


def test_a_revoked_key_is_refused(gql: GraphQLClient) -> None:
    payload = _create(gql)
    key = payload["key"]
    assert gql.post(VIEWER, key=key).status_code == 200
    revoked = gql.execute(REVOKE, {"id": payload["apiKey"]["id"]})["revokeApiKey"]
    assert revoked["apiKey"]["isActive"] is False and revoked["userErrors"] == []
    response = gql.post(VIEWER, key=key)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- with a clock the test holds ------------------------------------------------------------


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH)


@pytest.fixture
def frozen(database: Database, clock: FakeClock) -> Iterator[GraphQLClient]:
    """A client of an app whose clock is ``clock``."""
    app = create_app(Settings(database_url="sqlite://"), database=database, clock=clock)
    with (
        LiveServer(app, name="frozen-clock") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=make_key(database, "ADMIN", name="admin"))


def _last_used(database: Database, name: str = "admin") -> datetime | None:
    with database.scope() as session:
        return session.scalars(select(ApiKey.last_used).where(ApiKey.name == name)).one()


def _last_used_writes(frozen: GraphQLClient, database: Database, requests: int) -> int:
    with count_statements(database.engine) as log:
        for _ in range(requests):
            frozen.execute("{ viewer { name } }")
    return len(log.matching("UPDATE"))


def test_last_used_is_written_once_for_50_requests_in_one_minute(
    frozen: GraphQLClient, database: Database, clock: FakeClock
) -> None:
    assert _last_used_writes(frozen, database, 50) == 1
    assert _last_used(database) == EPOCH


def test_last_used_is_not_rewritten_within_the_minute(
    frozen: GraphQLClient, database: Database, clock: FakeClock
) -> None:
    frozen.execute("{ viewer { name } }")
    clock.advance(59)
    assert _last_used_writes(frozen, database, 10) == 0
    assert _last_used(database) == EPOCH


def test_last_used_is_written_again_after_a_minute(
    frozen: GraphQLClient, database: Database, clock: FakeClock
) -> None:
    frozen.execute("{ viewer { name } }")
    clock.advance(61)
    assert _last_used_writes(frozen, database, 10) == 1
    assert _last_used(database) == EPOCH + timedelta(seconds=61)


def test_an_authenticated_query_costs_one_lookup_plus_its_own_statements(
    frozen: GraphQLClient, database: Database
) -> None:
    with database.scope() as session:
        make_printer(session)
    counts = []
    for _ in range(3):
        with count_statements(database.engine) as log:
            frozen.execute(PRINTERS)
        counts.append(log.count)
    # the printers page is 1 statement; the key lookup 1; last_used 1 on first use only
    assert counts == [1 + 1 + 1, 1 + 1, 1 + 1]


def test_viewer_reads_its_key_once_more_than_the_lookup(
    frozen: GraphQLClient, database: Database
) -> None:
    frozen.execute(PRINTERS)  # first use writes last_used
    with count_statements(database.engine) as log:
        frozen.execute("{ viewer { name } }")
    assert log.count == 2


def test_a_key_is_refused_once_its_expiry_has_passed(
    frozen: GraphQLClient, clock: FakeClock
) -> None:
    expires_at = (clock.now + timedelta(hours=1)).isoformat()
    variables = {"input": {"name": "temp", "scopes": ["READ"], "expiresAt": expires_at}}
    key = frozen.execute(CREATE, variables)["createApiKey"]["key"]
    clock.advance(3600 - 1)
    assert frozen.post(VIEWER, key=key).status_code == 200
    clock.advance(2)
    response = frozen.post(VIEWER, key=key)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
