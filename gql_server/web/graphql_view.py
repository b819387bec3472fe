"""Strawberry's ASGI view with our per-request context and both response media types.

A client whose ``Accept`` prefers ``application/graphql-response+json`` (media_types.py)
gets that type, and with it the status codes of the GraphQL-over-HTTP spec: a request
error (a document that does not parse or validate, a query over our limits, variables
that do not coerce, a malformed request) is a 400 without a ``data`` entry; once
execution has begun the answer is 200 with ``data``, field errors or not. Everyone else
gets exactly what Strawberry gives: application/json, 200 with ``"data": null`` for
request errors, plain text for malformed requests.
"""

from typing import cast, overload

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET

from gql_server.graphql.context import Context
from gql_server.web.auth import graphql_error
from gql_server.web.graphiql import graphiql_response
from gql_server.web.media_types import (
    GRAPHQL_RESPONSE_JSON,
    GRAPHQL_RESPONSE_JSON_CONTENT_TYPE,
    response_media_type,
)
from gql_server.web.subscriptions import SocketRules, SubscriptionSocket

# Codes of the refusals Strawberry raises as HTTPException (the routes allow GET and
# POST only, and GET without a query is the IDE, so in practice 400 and 404).
_HTTP_ERROR_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _raised_by_our_code(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def request_error_status(result: ExecutionResult) -> int | None:
    """The status of a result that never reached execution (None when it did).

    Strawberry returns a PreExecutionError for parse and validation failures, our limit
    refusals included, and for an exception raised around the operation (500: our fault,
    not the client's). graphql-core refuses variables that do not coerce before it
    executes anything, with ``data`` None and errors without a path; errors raised while
    executing always carry the path of their field, even when a non-null root field
    makes ``data`` None.
    """
    errors = result.errors or []
    if isinstance(result, PreExecutionError):
        return 500 if any(_raised_by_our_code(e) for e in errors) else 400
    if result.data is None and errors and all(e.path is None for e in errors):
        return 400
    return None


def _is_error_status(status: int | None) -> bool:
    return status is not None and status >= 400


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SubscriptionSocket
    # Set by the app once its auth gate exists; a websocket needs them.
    socket_rules: SocketRules | None = None

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own-origin GraphiQL page instead of Strawberry's CDN one: it must work on
        a printer-farm LAN without internet access."""
        return graphiql_response()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state = request.app.state
        return Context(
            database=state.database,
            settings=state.settings,
            api_key=request.scope.get("state", {}).get("api_key"),
            services=state,
            clock=state.clock,
        )

    # Strawberry's two overloads, repeated so that the override matches its signature.
    @overload
    async def run(
        self, request: Request, context: Context = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self, request: Request | WebSocket, context: Context = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        """A malformed request is Strawberry's plain-text 4xx; a client that accepts the
        new type gets it as a GraphQL response without ``data``."""
        try:
            return await super().run(request, context, root_value)
        except HTTPException as error:
            if response_media_type(request.headers.get("accept")) != GRAPHQL_RESPONSE_JSON:
                raise
            code = _HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
            return graphql_error(error.status_code, error.reason, code)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """The media type is chosen once per request and travels on the sub-response,
        which Strawberry hands to both ``execute_single`` and ``create_response``."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON:
            # None is Strawberry's own "not set" on its sub-response (GraphQL.get_sub_response
            # does the same); Starlette types the status as int.
            sub_response.status_code = request_error_status(result)  # type: ignore[assignment]
        return result

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        if sub_response.media_type != GRAPHQL_RESPONSE_JSON:
            return super().create_response(response_data, sub_response)
        if _is_error_status(sub_response.status_code) and isinstance(response_data, dict):
            # The spec's rule for this type: no ``data`` entry exactly when the status is
            # an error, so a client can trust the body of a 4xx.
            response_data = cast(
                GraphQLHTTPResponse, {k: v for k, v in response_data.items() if k != "data"}
            )
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = GRAPHQL_RESPONSE_JSON_CONTENT_TYPE
        return response
