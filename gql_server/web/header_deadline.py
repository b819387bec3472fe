"""A deadline for the headers of every request, on top of uvicorn's h11 protocol.

uvicorn closes a keep-alive connection that stays idle after a response, but not a new
connection that never sends a request, nor one whose headers stop half-way (any byte
cancels its idle timer). 200 such connections held every GQL_MAX_CONNECTIONS slot and
the server answered 503 to everyone, /healthz included, for as long as the sockets
stayed open. This protocol closes a connection whose next request has not arrived, whole
headers included, within uvicorn's ``timeout_keep_alive`` (set from GQL_BODY_TIMEOUT).

It relies on uvicorn's ``H11Protocol``: ``connection_made``, ``on_response_complete``,
``handle_websocket_upgrade``, and ``cycle``, which changes when a request's headers have
been read. A websocket upgrade creates no cycle, so the deadline armed when the connection
opened saw none and closed every GraphQL subscription GQL_BODY_TIMEOUT seconds after it
began (found by bench/live.py): an upgraded connection is the websocket's, not ours.
``protocol_class`` returns it only for the uvicorn versions it is tested with
(TESTED_UVICORN); elsewhere serve keeps uvicorn's own protocol and says so once.
"""

import asyncio
import logging
from importlib.metadata import version

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

log = logging.getLogger(__name__)

TESTED_UVICORN = ((0, 30), (0, 55))  # from, up to (excluded)


class HeaderDeadlineProtocol(H11Protocol):
    # The signature of uvicorn's H11Protocol, which narrows asyncio's BaseTransport the same
    # way (and silences mypy the same way): a stream server hands a Transport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self.upgraded = True
        super().handle_websocket_upgrade(event)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    upgraded = False

    def _arm_header_deadline(self) -> None:
        self.loop.call_later(self.timeout_keep_alive, self._header_deadline, self.cycle)

    def _header_deadline(self, waiting_after: RequestResponseCycle | None) -> None:
        """No request has begun since the deadline was set: close."""
        if self.upgraded:
            return
        if self.cycle is waiting_after and not self.transport.is_closing():
            self.transport.close()


def uvicorn_version() -> tuple[int, int]:
    major, minor = version("uvicorn").split(".")[:2]
    return int(major), int(minor)


def protocol_class() -> type[asyncio.Protocol] | str:
    low, high = TESTED_UVICORN
    if low <= uvicorn_version() < high:
        return HeaderDeadlineProtocol
    log.warning(
        "uvicorn %s is outside the versions the request-header deadline is tested with; "
        "connections that never send a request are not closed",
        version("uvicorn"),
    )
    return "auto"
