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
from datetime import UTC, datetime
from typing import Any

from gql_server.graphql.errors import ApiError

# The longest cursor this server issues holds a printer name of 100 astral characters,
# each escaped as 12 characters of JSON, and a 19-digit id: about 1,700 characters of
# base64. Anything longer is not one of ours.
MAX_CURSOR_LENGTH = 2048
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1  # BIGINT; SQLite's integers overflow beyond


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
        return _decode_time(value["t"])
    if isinstance(value, float) and not math.isfinite(value):
        raise _NotOurs(value)  # 1e400 parses as infinity
    if isinstance(value, int) and not MIN_INTEGER <= value <= MAX_INTEGER:
        raise _NotOurs(value)
    if isinstance(value, str):
        value.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError, a ValueError
    return value


def _decode_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _NotOurs(text) from None


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
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
        raise _not_ours() from None  # RecursionError: JSON arrays nested ~1,000 deep
    if name != ordering or len(position) != size:
        raise ApiError(f"the cursor belongs to another ordering than {ordering}", "INVALID_CURSOR")
    return position
