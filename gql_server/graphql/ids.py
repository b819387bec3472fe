"""Opaque global ids ("Printer:12" in URL-safe base64), as Relay's Node interface wants."""

import base64
import binascii

from gql_server.graphql.errors import ApiError


def to_global_id(type_name: str, database_id: int) -> str:
    raw = f"{type_name}:{database_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_DATABASE_ID = 2**63 - 1  # BIGINT; larger numbers overflow SQLite's integers


def from_global_id(global_id: str) -> tuple[str, int]:
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        type_name, _, text = base64.urlsafe_b64decode(padded).decode().partition(":")
        number = int(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(f"{global_id!r} is not a valid id", "INVALID_ID") from None
    if not 0 < number <= MAX_DATABASE_ID:
        raise ApiError(f"{global_id!r} is not a valid id", "INVALID_ID")
    return type_name, number


def database_id(global_id: str, expected_type: str) -> int:
    type_name, number = from_global_id(global_id)
    if type_name != expected_type:
        raise ApiError(f"{global_id!r} is not a {expected_type} id", "INVALID_ID")
    return number
