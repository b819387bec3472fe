"""A request that declares its body length two ways is refused, through a real server:
h11 alone would let Transfer-Encoding win and pass the request on."""

import json
from collections.abc import Iterator

import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from tests.graphql.conftest import make_key
from tests.raw_http import closed_by_server, connect, read_response
from tests.support.live_server import LiveServer

QUERY = b'{"query": "{ viewer { name } }"}'


@pytest.fixture
def server(database: Database) -> Iterator[LiveServer]:
    app = create_app(Settings(database_url="sqlite://"), database=database)
    with LiveServer(app, name="framing") as live:
        yield live


def chunked_post(key: str, *extra_headers: str) -> bytes:
    head = [
        "POST /graphql HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"X-API-Key: {key}",
        "Transfer-Encoding: chunked",
        *extra_headers,
    ]
    chunk = f"{len(QUERY):x}\r\n".encode() + QUERY + b"\r\n0\r\n\r\n"
    return "\r\n".join(head).encode() + b"\r\n\r\n" + chunk


def test_content_length_with_transfer_encoding_is_refused_and_the_connection_closed(
    server: LiveServer, database: Database
) -> None:
    with connect(server.url, timeout=10) as sock:
        sock.sendall(chunked_post(make_key(database), f"Content-Length: {len(QUERY)}"))
        response = read_response(sock, timeout=10)
        closed = closed_by_server(sock, timeout=10)
    body = json.loads(response.body)
    assert (response.status, body["errors"][0]["extensions"]["code"]) == (400, "BAD_REQUEST")
    assert closed


def test_transfer_encoding_alone_is_served(server: LiveServer, database: Database) -> None:
    with connect(server.url, timeout=10) as sock:
        sock.sendall(chunked_post(make_key(database)))
        response = read_response(sock, timeout=10)
    assert response.status == 200
    assert json.loads(response.body)["data"] == {"viewer": {"name": "test"}}
