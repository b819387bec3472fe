"""Strawberry's ASGI view with our per-request context."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gql_server.graphql.context import Context


class GraphQLView(GraphQL):
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
