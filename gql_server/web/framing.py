"""Refuse requests whose body length can be read two ways.

A request with both Content-Length and Transfer-Encoding is the classic vehicle of
request smuggling: a proxy in front may frame the body by one header and we by the
other. h11 (uvicorn's parser here) lets Transfer-Encoding win and passes both headers
on, so the refusal is ours, and it closes the connection because its framing is unknown.
"""

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from gql_server.web.auth import graphql_error


def has_ambiguous_length(scope: Scope) -> bool:
    names = {name.lower() for name, _ in scope.get("headers", [])}
    return b"content-length" in names and b"transfer-encoding" in names


class RequestFramingGuard:
    def __init__(self, app: ASGIApp, *, on_refusal: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_ambiguous_length(scope):
            message = "a request may not carry both Content-Length and Transfer-Encoding"
            refusal = graphql_error(400, message, "BAD_REQUEST", Connection="close")
            if self.on_refusal is not None:
                self.on_refusal(refusal.code)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
