"""An app over the test database and a client that speaks GraphQL to it over HTTP."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings, load_settings
from gql_server.db.session import Database
from gql_server.services.api_keys import create_api_key
from tests.factories import TEST_SECRET
from tests.support.live_server import LiveServer


@dataclass
class GraphQLClient:
    http: httpx.Client
    key: str | None

    def post(self, query: str, variables: dict[str, Any] | None = None, *, key: Any = ...) -> Any:
        key = self.key if key is ... else key
        headers = {} if key is None else {"X-API-Key": key}
        return self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    def execute(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The ``data`` of a successful response; fails the test on any GraphQL error."""
        response = self.post(query, variables, **kw)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]


def make_key(database: Database, scopes: str = "ADMIN", name: str = "test") -> str:
    with database.scope() as session:
        return create_api_key(session, name=name, scopes=scopes).plaintext


@pytest.fixture
def app_server(database: Database) -> Iterator[LiveServer]:
    # .ci/run runs the GraphQL tests again with GQL_FAST_PATH=false: both must pass alike.
    fast_path = load_settings({"GQL_FAST_PATH": os.environ.get("GQL_FAST_PATH", "true")}).fast_path
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET, fast_path=fast_path)
    app = create_app(settings, database=database)
    with LiveServer(app, name="gql-server") as server:
        yield server


@pytest.fixture
def app_client(app_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def gql(app_client: httpx.Client, database: Database) -> GraphQLClient:
    return GraphQLClient(http=app_client, key=make_key(database))
