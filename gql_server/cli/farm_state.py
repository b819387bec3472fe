"""The farm's live state as a running server tells it over HTTP GraphQL, for ``watch``.

A plain query each refresh rather than the printerStatusChanged subscription: it needs
no websocket library state across refreshes, a server restart costs one missed frame,
and the table shows every printer, including those live mode does not follow (null
liveStatus), which a subscription never mentions.
"""

from dataclasses import dataclass
from typing import Any

import httpx

API_KEY_HEADER = "X-API-Key"
PAGE_SIZE = 100  # the most a connection hands out at once
MAX_PAGES = 50  # 5000 printers: the loop stays bounded whatever the server answers
TIMEOUT_S = 10.0

FARM_QUERY = """
query Watch($first: Int!, $after: String) {
  printers(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      name
      liveStatus {
        connection klippyState printState filename progress
        extruder { temperature target } bed { temperature target }
        estimatedTimeLeft message
      }
    }
  }
}"""


class FarmStateError(Exception):
    """Why the state could not be read, as one line for the operator.

    ``retryable``: the server may answer next time (unreachable, overloaded); a refused
    key or a malformed answer will not change by waiting."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class PrinterState:
    name: str
    live: dict[str, Any] | None  # the liveStatus object as the server sent it


def fetch_farm(client: httpx.Client, url: str, api_key: str) -> list[PrinterState]:
    """Every printer with its live state, page by page."""
    printers: list[PrinterState] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = _printers_page(client, url, api_key, after)
        printers.extend(
            PrinterState(name=str(node["name"]), live=node.get("liveStatus"))
            for node in page["nodes"]
        )
        info = page["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    return printers


def _printers_page(
    client: httpx.Client, url: str, api_key: str, after: str | None
) -> dict[str, Any]:
    endpoint = graphql_endpoint(url)
    try:
        response = client.post(
            endpoint,
            json={"query": FARM_QUERY, "variables": {"first": PAGE_SIZE, "after": after}},
            headers={API_KEY_HEADER: api_key},
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        raise FarmStateError(
            f"cannot reach the server at {url}: {_reason(exc)}", retryable=True
        ) from exc
    body = _json(response, url)
    if response.status_code in (401, 403):
        raise FarmStateError(
            f"the server refused the API key: {_first_error(body)}", retryable=False
        )
    if response.status_code != 200 or body.get("errors"):
        raise FarmStateError(
            f"the server answered {response.status_code}: {_first_error(body)}",
            retryable=response.status_code >= 500 or response.status_code == 429,
        )
    try:
        page: dict[str, Any] = body["data"]["printers"]
    except (KeyError, TypeError) as exc:
        raise FarmStateError(
            f"{endpoint} did not answer a printers query", retryable=False
        ) from exc
    return page


def graphql_endpoint(url: str) -> str:
    """``url`` may be the server's root or its /graphql."""
    base = url.rstrip("/")
    return base if base.endswith("/graphql") else f"{base}/graphql"


def _json(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise FarmStateError(
            f"{url} is not a gql-server (HTTP {response.status_code}, no GraphQL answer)",
            retryable=False,
        )
    return body


def _first_error(body: dict[str, Any]) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", "no message"))
    return "no error message"


def _reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {TIMEOUT_S:g} s"
    return str(exc) or type(exc).__name__
