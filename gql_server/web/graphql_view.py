"""Strawberry's ASGI view with our per-request context."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gql_server.graphql.context import Context
from gql_server.web.graphiql import graphiql_response


class GraphQLView(GraphQL):
    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own-origin GraphiQL page instead of Strawberry's CDN one: it must work on
        a printer-farm LAN without internet access."""
        return graphiql_response()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Any:  # type: ignore[override]
        state = request.app.state
        return Context(
            database=state.database,
            settings=state.settings,
            api_key=request.scope.get("state", {}).get("api_key"),
            services=state,
            clock=state.clock,
        )
