"""The authentication gate in front of /graphql: no valid key, no execution.

Authentication happens here, once per request and before parsing, so every operation
(including ones added later) is covered and a failure is a real HTTP 401. Scopes are
checked per field by the schema's permission classes.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gql_server.db.session import Database
from gql_server.services.auth import AuthenticatedKey, FailureThrottle, authenticate
from gql_server.web.media_types import (
    GRAPHQL_RESPONSE_JSON,
    GRAPHQL_RESPONSE_JSON_CONTENT_TYPE,
    scope_media_type,
)

API_KEY_HEADER = "x-api-key"


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
        self.code = code
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


def _wants_ide(request: Request) -> bool:
    """A browser GET without a query gets the GraphiQL page, which needs no key."""
    return request.method == "GET" and "query" not in request.query_params


class AuthGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        database: Database,
        throttle: FailureThrottle,
        clock: Callable[[], datetime],
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.on_refusal = on_refusal
        self.database = database
        self.throttle = throttle
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await graphql_error(400, "subscriptions are not offered", "BAD_REQUEST")(
                scope, receive, send
            )
            return
        request = Request(scope, receive)
        if _wants_ide(request):
            await self.app(scope, receive, send)
            return
        response, api_key = await self._authenticate(request)
        if response is not None:
            if self.on_refusal is not None:
                self.on_refusal(response.code)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = api_key
        await self.app(scope, receive, send)

    async def _authenticate(self, request: Request) -> tuple[Any, AuthenticatedKey | None]:
        address = request.client.host if request.client else "unknown"
        retry_after = self.throttle.retry_after(address)
        if retry_after is not None:
            message = "too many failed authentications from this address; retry later"
            return graphql_error(
                429, message, "RATE_LIMITED", **{"Retry-After": str(retry_after)}
            ), None
        key = key_from_headers(request)
        api_key = None
        if key is not None:
            now = self.clock()
            api_key = await self.database.run(lambda s: authenticate(s, key, now))
        if api_key is None:
            self.throttle.record_failure(address)
            message = (
                "missing API key: send it in the X-API-Key header"
                if key is None
                else "invalid, revoked or expired API key"
            )
            return graphql_error(401, message, "UNAUTHENTICATED"), None
        return None, api_key
