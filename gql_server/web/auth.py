"""The authentication gate in front of /graphql: no valid key, no execution.

Authentication happens here, once per request and before parsing, so every operation
(including ones added later) is covered and a failure is a real HTTP 401. Scopes are
checked per field by the schema's permission classes.
"""

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gql_server.db.session import Database
from gql_server.services.auth import AuthenticatedKey, authenticate
from gql_server.web.media_types import (
    GRAPHQL_RESPONSE_JSON,
    GRAPHQL_RESPONSE_JSON_CONTENT_TYPE,
    scope_media_type,
)
from gql_server.web.throttle import FailureThrottle

API_KEY_HEADER = "x-api-key"
# Seconds a client is asked to wait when the database does not answer: long enough for
# a MariaDB restart or failover to be noticed, short enough for a dashboard refresh.
DATABASE_RETRY_AFTER = 5

log = logging.getLogger(__name__)


def key_from_headers(request: Request) -> str | None:
    """X-API-Key, or Authorization: Bearer. Never the query string or a cookie: those end
    up in logs, browser history and CSRF."""
    key = request.headers.get(API_KEY_HEADER)
    if key:
        return key.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class GraphQLErrorResponse(JSONResponse):
    """A refusal before execution, shaped like a GraphQL response; ``code`` is kept for
    the metrics."""

    def __init__(self, status: int, message: str, code: str, headers: dict[str, str]) -> None:
        body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
        super().__init__(body, status_code=status, headers=headers or None)
        self.code, self.message = code, message
        self.errors, self.extra_headers = body["errors"], headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A client that accepts application/graphql-response+json gets that type and,
        as its spec asks of a 4xx, no ``data`` entry."""
        if scope_media_type(scope) != GRAPHQL_RESPONSE_JSON:
            await super().__call__(scope, receive, send)
            return
        body, headers = {"errors": self.errors}, self.extra_headers or None
        media_type = GRAPHQL_RESPONSE_JSON_CONTENT_TYPE
        await JSONResponse(body, self.status_code, headers, media_type)(scope, receive, send)


def graphql_error(status: int, message: str, code: str, **headers: str) -> GraphQLErrorResponse:
    return GraphQLErrorResponse(status, message, code, headers)


async def send_refusal(
    refusal: GraphQLErrorResponse,
    on_refusal: Callable[[str], None] | None,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Count a refusal by its code (the metrics' hook), then send it."""
    if on_refusal is not None:
        on_refusal(refusal.code)
    await refusal(scope, receive, send)


class DatabaseUnavailable(Exception):
    """The key could not be looked up because the database did not answer."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _database_unavailable(cause: BaseException | None) -> GraphQLErrorResponse:
    """503 for a lost or unreachable database. One line in the log, without the
    traceback or the statement (whose parameters hold the key's hash): during an outage
    every request lands here, and the cause is all the operator needs."""
    log.warning(
        "database unavailable during the API-key lookup: %s: %s", type(cause).__name__, cause
    )
    message = "the database is unavailable; retry later"
    return graphql_error(
        503, message, "DATABASE_UNAVAILABLE", **{"Retry-After": str(DATABASE_RETRY_AFTER)}
    )


def _is_unavailability(exc: DBAPIError) -> bool:
    """Connection-level failures only: a programming error stays a 500 with its traceback."""
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def _wants_ide(request: Request) -> bool:
    """A browser GET without a query gets the GraphiQL page, which needs no key."""
    return request.method == "GET" and "query" not in request.query_params


@dataclass(frozen=True, slots=True)
class AuthGate:
    """``serves_ide`` False: every request needs a key, a GET without a query too
    (the export's routes have no page to show)."""

    app: ASGIApp
    _: KW_ONLY
    database: Database
    throttle: FailureThrottle
    clock: Callable[[], datetime]
    on_refusal: Callable[[str], None] | None = None
    serves_ide: bool = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # HTTP only: the Route in front of it never passes a websocket on.
        request = Request(scope, receive)
        if self.serves_ide and _wants_ide(request):
            await self.app(scope, receive, send)
            return
        address = request.client.host if request.client else "unknown"
        response, api_key = await self.authenticate(key_from_headers(request), address)
        if response is not None:
            await send_refusal(response, self.on_refusal, scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = api_key
        await self.app(scope, receive, send)

    async def authenticate(
        self, key: str | None, address: str
    ) -> tuple[GraphQLErrorResponse | None, AuthenticatedKey | None]:
        """The key, or the refusal (with its code) to send instead; a websocket's
        connection_init goes through here too (web/subscriptions.py)."""
        retry_after = self.throttle.retry_after(address)
        if retry_after is not None:
            message = "too many failed authentications from this address; retry later"
            return graphql_error(
                429, message, "RATE_LIMITED", **{"Retry-After": str(retry_after)}
            ), None
        try:
            api_key = None if key is None else await self._lookup(key)
        except DatabaseUnavailable as exc:
            return _database_unavailable(exc.cause), None
        if api_key is None:
            self.throttle.record_failure(address)
            message = (
                "missing API key: send it in the X-API-Key header"
                if key is None
                else "invalid, revoked or expired API key"
            )
            return graphql_error(401, message, "UNAUTHENTICATED"), None
        return None, api_key

    async def _lookup(self, key: str) -> AuthenticatedKey | None:
        now = self.clock()
        try:
            return await self.database.run(lambda s: authenticate(s, key, now))
        except PoolTimeoutError as exc:
            raise DatabaseUnavailable(exc) from exc
        except DBAPIError as exc:
            if _is_unavailability(exc):
                raise DatabaseUnavailable(exc.orig) from exc
            raise
