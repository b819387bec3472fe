"""Opaque keyset cursors: the ordering's name plus the sort key of one row.

The ordering is part of the cursor so that a cursor from one ordering cannot be replayed
against another, where its values would mean something else.

Cursors are opaque, not secret: a client can decode one and send back anything. Every
value is checked to be one the database can compare with (a finite float, a 64-bit
integer, a time inside Python's years, encodable text) before it reaches SQL.
"""

import base64
import binascii
import json
import math
from datetime import datetime
from typing import Any

from gql_server.graphql.errors import ApiError
from gql_server.graphql.ids import MAX_DATABASE_ID
from gql_server.services.errors import ServiceError
from gql_server.services.input_bounds import to_utc

# The longest cursor this server issues holds a printer name of 100 astral characters,
# each escaped as 12 characters of JSON, and a 19-digit id: about 1,700 characters of
# base64. Anything longer is not one of ours.
MAX_CURSOR_LENGTH = 2048
MIN_INTEGER = -MAX_DATABASE_ID - 1  # a signed BIGINT, as SQLite's integers


class _NotOurs(ValueError):
    """A value no cursor of ours holds."""


def _refuse_constant(name: str) -> float:
    raise _NotOurs(name)  # NaN, Infinity, -Infinity: JSON has no such numbers


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return to_utc(datetime.fromisoformat(value["t"]), field="cursor")
    if isinstance(value, float) and not math.isfinite(value):
        raise _NotOurs(value)  # 1e400 parses as infinity
    if isinstance(value, int) and not MIN_INTEGER <= value <= MAX_DATABASE_ID:
        raise _NotOurs(value)
    if isinstance(value, str):
        value.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError, a ValueError
    return value


def encode_cursor(ordering: str, position: tuple[Any, ...]) -> str:
    payload = json.dumps([ordering, [_encode_value(v) for v in position]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _not_ours() -> ApiError:
    return ApiError("the cursor is not one this server issued", "INVALID_CURSOR")


def decode_cursor(cursor: str, ordering: str, *, size: int) -> tuple[Any, ...]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _not_ours()
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(padded), parse_constant=_refuse_constant)
        name, values = payload
        position = tuple(_decode_value(v) for v in values)
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError, ServiceError):
        # RecursionError: JSON arrays nested ~1,000 deep; ServiceError: a time out of range
        raise _not_ours() from None
    if name != ordering or len(position) != size:
        raise ApiError(f"the cursor belongs to another ordering than {ordering}", "INVALID_CURSOR")
    return position
