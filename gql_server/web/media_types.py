"""Which of the two GraphQL-over-HTTP response media types a request gets.

``application/json`` is the legacy type: every well-formed request gets 200 and a ``data``
entry, even when the document does not parse. ``application/graphql-response+json`` lets
status codes mean something: a request error is a 4xx without ``data``. A client gets the
new type only when its ``Accept`` header prefers it; wildcards (``*/*``,
``application/*``) and a missing header keep the legacy type, so clients written before
the new type existed see no change (the graphql-http audit expects both defaults).
"""

from starlette.datastructures import Headers
from starlette.types import Scope

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# The Content-Type we send with the new type; the spec asks servers to name the encoding.
GRAPHQL_RESPONSE_JSON_CONTENT_TYPE = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"

_CANDIDATES = (GRAPHQL_RESPONSE_JSON, JSON)


def _parse_range(part: str) -> tuple[str, float] | None:
    """(media range, q) of one ``Accept`` element; None when it cannot be read."""
    media_range, *parameters = (piece.strip() for piece in part.split(";"))
    if media_range.count("/") != 1:
        return None
    q = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            if not 0.0 <= q <= 1.0:
                return None
    return media_range.lower(), q


def _specificity(media_range: str, media_type: str) -> int | None:
    """How precisely ``media_range`` names ``media_type`` (2 exact, 1 ``type/*``,
    0 ``*/*``), or None when it does not match at all."""
    if media_range == media_type:
        return 2
    if media_range == media_type.split("/")[0] + "/*":
        return 1
    if media_range == "*/*":
        return 0
    return None


def _quality(ranges: list[tuple[str, float]], media_type: str) -> tuple[float, int]:
    """(q, specificity) from the most specific range matching ``media_type``: with
    ``*/*, application/json;q=0`` the client refuses JSON whatever the wildcard says."""
    best: tuple[int, float] | None = None
    for media_range, q in ranges:
        specificity = _specificity(media_range, media_type)
        if specificity is not None and (best is None or (specificity, q) > best):
            best = (specificity, q)
    return (0.0, -1) if best is None else (best[1], best[0])


def _preference(candidate: str, ranges: list[tuple[str, float]]) -> tuple[float, bool, bool]:
    """Higher q first; on a tie a type the client names beats one it reaches through a
    wildcard; between two named types the new one wins, between two wildcards the legacy
    one (``*/*`` means "anything", not "the new type")."""
    q, specificity = _quality(ranges, candidate)
    named = specificity == 2
    return q, named, candidate == (GRAPHQL_RESPONSE_JSON if named else JSON)


def response_media_type(accept: str | None) -> str:
    """The media type to answer a request with ``Accept: accept``. When the client
    accepts neither type, application/json: the spec allows ignoring ``Accept`` instead
    of answering 406, and it is what every client got before."""
    if not accept or not accept.strip():
        return JSON
    ranges = [parsed for part in accept.split(",") if (parsed := _parse_range(part))]
    chosen = max(_CANDIDATES, key=lambda candidate: _preference(candidate, ranges))
    return chosen if _quality(ranges, chosen)[0] > 0.0 else JSON


def scope_media_type(scope: Scope) -> str:
    """``response_media_type`` for a raw ASGI scope."""
    return response_media_type(Headers(scope=scope).get("accept"))
