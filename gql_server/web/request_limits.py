"""Limits on the HTTP request itself, enforced before GraphQL parses anything.

Bodies over the byte limit are refused while they stream in (413), never buffered
whole; JSON arrays (batched operations) are refused; a query over the token limit is
refused after counting its tokens with the GraphQL lexer, which stops at the limit.
"""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from graphql.error import GraphQLSyntaxError
from graphql.language import Lexer, Source, TokenKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_server.web.auth import graphql_error


class BodyTooLarge(Exception):
    pass


def count_tokens(query: str, limit: int) -> int:
    """Tokens of ``query``, counting no further than ``limit + 1``."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count <= limit:
            if lexer.advance().kind is TokenKind.EOF:
                break
            count += 1
    except GraphQLSyntaxError:
        pass  # the parser will report it properly
    return count


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _queries(scope: Scope, body: bytes) -> tuple[bool, list[str]]:
    """(is a batch, the query strings found) from a JSON body or the query string."""
    if scope["method"] == "GET":
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return False, params.get("query", [])
    try:
        payload: Any = json.loads(body) if body else None
    except ValueError:
        return False, []  # not JSON: Strawberry answers 400 itself
    if isinstance(payload, list):
        return True, []
    if isinstance(payload, dict) and isinstance(payload.get("query"), str):
        return False, [payload["query"]]
    return False, []


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_tokens: int,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.on_refusal = on_refusal
        self.max_body_bytes = max_body_bytes
        self.max_tokens = max_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal, body = await self._check(scope, receive)
        if refusal is not None:
            if self.on_refusal is not None:
                self.on_refusal(refusal.code)
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)

    async def _check(self, scope: Scope, receive: Receive) -> tuple[Any, bytes]:
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            return self._too_large(), b""
        try:
            body = await read_body(receive, self.max_body_bytes)
        except BodyTooLarge:
            return self._too_large(), b""
        batch, queries = _queries(scope, body)
        if batch:
            message = "batched operations are not supported: send one operation per request"
            return graphql_error(400, message, "BATCHING_NOT_SUPPORTED"), body
        for query in queries:
            if count_tokens(query, self.max_tokens) > self.max_tokens:
                message = f"the query has more than {self.max_tokens} tokens"
                return graphql_error(400, message, "TOO_MANY_TOKENS"), body
        return None, body

    def _too_large(self) -> Any:
        message = f"request body over {self.max_body_bytes} bytes"
        return graphql_error(413, message, "PAYLOAD_TOO_LARGE")


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
