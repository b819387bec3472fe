"""Opaque keyset cursors: the ordering's name plus the sort key of one row.

The ordering is part of the cursor so that a cursor from one ordering cannot be replayed
against another, where its values would mean something else.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from gql_server.graphql.errors import ApiError


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"])
    return value


def encode_cursor(ordering: str, position: tuple[Any, ...]) -> str:
    payload = json.dumps([ordering, [_encode_value(v) for v in position]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: str, *, size: int) -> tuple[Any, ...]:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        name, values = json.loads(base64.urlsafe_b64decode(padded))
        position = tuple(_decode_value(v) for v in values)
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise ApiError("the cursor is not one this server issued", "INVALID_CURSOR") from None
    if name != ordering or len(position) != size:
        raise ApiError(f"the cursor belongs to another ordering than {ordering}", "INVALID_CURSOR")
    return position
