"""Limits on the HTTP request itself, enforced before GraphQL parses anything.

Bodies over the byte limit are refused while they stream in (413), never buffered
whole, and a body that does not arrive within the time limit is refused (408); a body
that is not UTF-8 JSON, or JSON nested deeper than any GraphQL request needs, is refused
(400) before Strawberry or graphql-core walk it recursively; JSON arrays (batched
operations) are refused; a query over the token limit is refused after counting its
tokens with the GraphQL lexer, which stops at the limit.
"""

import json
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any
from urllib.parse import parse_qs

import anyio
from graphql.error import GraphQLSyntaxError
from graphql.language import Lexer, Source, TokenKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql_server.web.auth import GraphQLErrorResponse, graphql_error, send_refusal

# Our deepest real request is 4 levels ({"variables": {"filter": {"statuses": [..]}}});
# 32 leaves room for any client while staying far below the ~1,000 frames at which
# json.loads and graphql-core's recursive coercion raise RecursionError (a 500 before).
MAX_JSON_DEPTH = 32


class BodyTooLarge(Exception):
    pass


class MalformedJson(Exception):
    """A body or a ``variables`` parameter that must not reach Strawberry."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def count_tokens(query: str, limit: int) -> int:
    """Tokens of ``query``, counting no further than ``limit + 1``; comments count too.

    The lexer reads a whole run of comments before it returns the next token, so they
    are bounded first, by the number of ``#`` (a ``#`` inside a string counts as well):
    a body of ``#`` lines otherwise held the event loop on every request, before the API
    key was even looked at."""
    if query.count("#") > limit:
        return limit + 1
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


def json_depth(value: Any) -> int:
    """Nesting depth of decoded JSON (a scalar is 0), walked without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def decode_json(raw: bytes | str, what: str) -> Any:
    """``raw`` as JSON, or MalformedJson naming ``what`` and the fault."""
    try:
        # utf-8-sig: a leading BOM is tolerated, as json.loads(bytes) in Strawberry does.
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise MalformedJson(f"{what} is not valid UTF-8") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise MalformedJson(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise MalformedJson(f"{what} is not valid JSON") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise MalformedJson(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _get_queries(scope: Scope) -> list[str]:
    """The query strings of a GET, after checking its JSON parameters as a body would be."""
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    for name in ("variables", "extensions"):
        for raw in params.get(name, []):
            if raw:
                decode_json(raw, f"the {name} parameter")
    return params.get("query", [])


class NotAnOperation(Exception):
    """The body is JSON but not an operation: not an object or a list (Strawberry failed
    with 500), or a member of the wrong type (Strawberry answered in plain text)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# What each member of an operation may hold besides null.
MEMBER_TYPES: dict[str, tuple[type, str]] = {
    "query": (str, "a string"),
    "operationName": (str, "a string"),
    "variables": (dict, "an object"),
    "extensions": (dict, "an object"),
}


def _check_members(payload: dict[str, Any]) -> None:
    for name, (kind, described) in MEMBER_TYPES.items():
        value = payload.get(name)
        if value is not None and not isinstance(value, kind):
            raise NotAnOperation(f"{name} must be {described} or null")


def _queries(scope: Scope, body: bytes) -> tuple[bool, list[str]]:
    """(is a batch, the query strings found) from a JSON body or the query string."""
    if scope["method"] == "GET":
        return False, _get_queries(scope)
    payload: Any = decode_json(body, "the request body") if body else None
    if body and not isinstance(payload, dict | list):
        raise NotAnOperation(
            'the request body must be a JSON object such as {"query": "{ viewer { name } }"}'
        )
    if isinstance(payload, list):
        return True, []
    if isinstance(payload, dict):
        _check_members(payload)
    if isinstance(payload, dict) and isinstance(payload.get("query"), str):
        return False, [payload["query"]]
    return False, []


@dataclass(frozen=True, slots=True)
class RequestLimits:
    app: ASGIApp
    _: KW_ONLY
    max_body_bytes: int
    max_tokens: int
    body_timeout: float = 10.0
    on_refusal: Callable[[str], None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # HTTP only: the Route in front of it never passes a websocket on.
        refusal, body = await self._check(scope, receive)
        if refusal is not None:
            await send_refusal(refusal, self.on_refusal, scope, receive, send)
            return
        await self.app(scope, _replay(body), send)

    async def _check(self, scope: Scope, receive: Receive) -> tuple[Any, bytes]:
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            return self._too_large(), b""
        try:
            with anyio.fail_after(self.body_timeout):
                body = await read_body(receive, self.max_body_bytes)
        except BodyTooLarge:
            return self._too_large(), b""
        except TimeoutError:
            return self._too_slow(), b""
        try:
            batch, queries = _queries(scope, body)
        except MalformedJson as exc:
            return graphql_error(400, exc.message, "INVALID_JSON"), body
        except NotAnOperation as exc:
            return graphql_error(400, exc.message, "BAD_REQUEST"), body
        if batch:
            message = "batched operations are not supported: send one operation per request"
            return graphql_error(400, message, "BATCHING_NOT_SUPPORTED"), body
        for query in queries:
            if count_tokens(query, self.max_tokens) > self.max_tokens:
                message = f"the query has more than {self.max_tokens} tokens"
                return graphql_error(400, message, "TOO_MANY_TOKENS"), body
        return None, body

    def _too_large(self) -> GraphQLErrorResponse:
        message = f"request body over {self.max_body_bytes} bytes"
        return graphql_error(413, message, "PAYLOAD_TOO_LARGE")

    def _too_slow(self) -> GraphQLErrorResponse:
        # Connection: close, because the rest of the body may still be on its way and
        # must not be read as the next request on this connection.
        message = f"the request body did not arrive within {self.body_timeout:g} s"
        return graphql_error(408, message, "REQUEST_TIMEOUT", Connection="close")


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
