"""GraphQL over a websocket (graphql-transport-ws): our rules on Strawberry's handler.

- The API key comes in ``connection_init``'s payload as ``{"X-API-Key": "<key>"}``
  (browsers cannot set headers on a websocket) and is checked by the same gate as HTTP:
  a missing or bad key closes the socket with 4401, a throttled address with 4429, a
  database that does not answer with 1013 (try again later). Scopes are then checked per
  operation by the schema's permission classes: a refusal is that operation's error and
  the socket stays open.
- Operations per socket are bounded (GQL_MAX_SUBSCRIPTIONS_PER_SOCKET); one over the
  bound is refused with TOO_MANY_SUBSCRIPTIONS, the others go on.
- The server pings every GQL_WS_KEEPALIVE seconds; a socket from which nothing (no pong,
  no message) arrived by the next ping is closed with 4408, as is one that sends no
  ``connection_init`` within GQL_WS_INIT_TIMEOUT (Strawberry's own timer).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message, SubscribeMessage

from gql_server.graphql.context import Context
from gql_server.services.auth import AuthenticatedKey
from gql_server.web.auth import API_KEY_HEADER, GraphQLErrorResponse

# The websocket close code of each refusal the gate can give.
CLOSE_CODES = {"UNAUTHENTICATED": 4401, "RATE_LIMITED": 4429, "DATABASE_UNAVAILABLE": 1013}
KEEPALIVE_MISSED = 4408
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
MISSING_KEY = 'missing API key: send {"X-API-Key": "<key>"} as the connection_init payload'

Authenticate = Callable[
    [str | None, str], Awaitable[tuple[GraphQLErrorResponse | None, AuthenticatedKey | None]]
]


@dataclass(frozen=True, slots=True)
class SocketRules:
    authenticate: Authenticate  # AuthGate.authenticate: the same checks as HTTP
    keepalive: float  # seconds between pings
    on_refusal: Callable[[str], None] | None = None  # counts refusals by code (metrics)


def key_from_payload(payload: Any) -> str | None:
    """The key under X-API-Key in any case, as a header name would be."""
    if not isinstance(payload, dict):
        return None
    for name, value in payload.items():
        if isinstance(name, str) and name.lower() == API_KEY_HEADER and isinstance(value, str):
            return value.strip() or None
    return None


class SubscriptionSocket(BaseGraphQLTransportWSHandler[Context, None]):
    """One websocket; ``view.socket_rules`` says how to authenticate and ping."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules: SocketRules = self.view.socket_rules  # type: ignore[attr-defined]
        self.heard_from = True  # something arrived since the last ping
        self.keepalive_task: asyncio.Task[None] | None = None

    async def handle_message(self, message: Message) -> None:
        self.heard_from = True
        if not isinstance(message, dict):
            await self.handle_invalid_message("a message must be a JSON object")
            return
        initialising = message.get("type") == "connection_init"
        if (
            initialising
            and not self.connection_init_received
            and not await self._authenticate(message.get("payload"))
        ):
            return
        await super().handle_message(message)
        if self.connection_acknowledged and self.keepalive_task is None:
            self.keepalive_task = asyncio.create_task(self._keep_alive())

    async def _authenticate(self, payload: Any) -> bool:
        key = key_from_payload(payload)
        client = self.websocket.ws.client  # type: ignore[attr-defined]
        refusal, api_key = await self.rules.authenticate(key, client.host if client else "unknown")
        if self.connection_timed_out:
            return False  # closed meanwhile with 4408
        if refusal is not None:
            if self.rules.on_refusal is not None:
                self.rules.on_refusal(refusal.code)
            reason = MISSING_KEY if key is None else refusal.message
            await self._close(CLOSE_CODES.get(refusal.code, 4401), reason)
            return False
        self.context.api_key = api_key
        return True

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = GraphQLError(
                f"this socket already runs {limit} operations, its limit "
                "(GQL_MAX_SUBSCRIPTIONS_PER_SOCKET); complete one first",
                extensions={"code": TOO_MANY_SUBSCRIPTIONS},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def _keep_alive(self) -> None:
        try:
            while True:
                self.heard_from = False
                await self.send_message({"type": "ping"})
                await asyncio.sleep(self.rules.keepalive)
                if not self.heard_from:
                    await self._close(KEEPALIVE_MISSED, "keep-alive missed: no pong to the ping")
                    return
        except WebSocketDisconnected:
            return

    async def _close(self, code: int, reason: str) -> None:
        # The client may be gone already; then there is nobody to tell.
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            await self.websocket.close(code=code, reason=reason)

    async def shutdown(self) -> None:
        if self.keepalive_task is not None:
            self.keepalive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keepalive_task
        await super().shutdown()
