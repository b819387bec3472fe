"""X-Content-Type-Options: nosniff on every kind of response the app gives."""

from collections.abc import Iterator

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from tests.support.live_server import LiveServer


@pytest.fixture
def http(database: Database) -> Iterator[httpx.Client]:
    app = create_app(Settings(database_url="sqlite://"), database=database)
    with (
        LiveServer(app, name="security-headers") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


REQUESTS = {
    "graphiql page": ("GET", "/graphql", {"Accept": "text/html"}),
    "graphiql static file": ("GET", "/static/graphiql/graphiql.min.js", {}),
    "refusal without a key": ("POST", "/graphql", {}),
    "export refusal without a key": ("GET", "/export/print-jobs.csv", {}),
    "healthz": ("GET", "/healthz", {}),
    "metrics": ("GET", "/metrics", {}),
    "not found": ("GET", "/nowhere", {}),
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_every_response_says_nosniff(http: httpx.Client, name: str) -> None:
    method, path, headers = REQUESTS[name]
    response = http.request(method, path, headers=headers, json={"query": "{ viewer { name } }"})
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
