"""A graphql-transport-ws client for tests, on the `websockets` package's sync client.

Every receive has a deadline; the server's pings are answered unless ``answer_pings`` is
off (the idle-socket test), so the keep-alive never closes a socket under test.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"
WAIT_S = 30.0  # a deadline, not a measurement


class GraphQLSocket:
    def __init__(self, connection: ClientConnection, *, answer_pings: bool = True) -> None:
        self.connection = connection
        self.answer_pings = answer_pings
        self.pings = 0
        self.close_reason: str | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.connection.send(json.dumps(message))

    def init(self, payload: Any) -> dict[str, Any]:
        self.send({"type": "connection_init", "payload": payload})
        return self.receive()

    def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        self.send({"id": op_id, "type": "subscribe", "payload": payload})

    def complete(self, op_id: str) -> None:
        self.send({"id": op_id, "type": "complete"})

    def receive(self, timeout: float = WAIT_S) -> dict[str, Any]:
        """The next message that is not a ping."""
        while True:
            message: dict[str, Any] = json.loads(self.connection.recv(timeout=timeout))
            if message.get("type") != "ping":
                return message
            self.pings += 1
            if self.answer_pings:
                self.send({"type": "pong"})

    def receive_for(self, op_id: str, timeout: float = WAIT_S) -> dict[str, Any]:
        while True:
            message = self.receive(timeout)
            if message.get("id") == op_id:
                return message

    def close_code(self, timeout: float = WAIT_S) -> int | None:
        """Read until the server closes; its close code."""
        try:
            while True:
                self.receive(timeout)
        except ConnectionClosed as closed:
            if closed.rcvd is None:
                return None
            self.close_reason = closed.rcvd.reason
            return closed.rcvd.code


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/graphql"


@contextmanager
def graphql_socket(http_url: str, *, answer_pings: bool = True) -> Iterator[GraphQLSocket]:
    with connect(ws_url(http_url), subprotocols=[PROTOCOL], open_timeout=WAIT_S) as connection:  # type: ignore[list-item]
        yield GraphQLSocket(connection, answer_pings=answer_pings)


@contextmanager
def authenticated_socket(http_url: str, key: str) -> Iterator[GraphQLSocket]:
    with graphql_socket(http_url) as socket:
        ack = socket.init({"X-API-Key": key})
        assert ack["type"] == "connection_ack", ack
        yield socket
