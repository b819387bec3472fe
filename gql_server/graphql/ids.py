"""Opaque global ids ("Printer:12" in URL-safe base64), as Relay's Node interface wants.

One rule in queries and mutations alike: an id that is malformed, or names another type
("ApiKey:3" where a printer is wanted), is ``INVALID_ID``: the caller sent something
that never was an id of that kind. A well-formed id of a row that does not exist
(deleted, or never created) is ``NOT_FOUND`` in a mutation's userErrors; a query answers
it as Relay asks, with null (``node``, ``printer``) or no match (a ``printerIds`` filter).
"""

import base64
import binascii

from gql_server.graphql.errors import ApiError


def to_global_id(type_name: str, database_id: int) -> str:
    raw = f"{type_name}:{database_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_DATABASE_ID = 2**63 - 1  # BIGINT; larger numbers overflow SQLite's integers
# "JobDetails:9223372036854775807" is 40 characters of base64: the longest id we issue.
MAX_GLOBAL_ID_LENGTH = 64


def _invalid(global_id: str) -> ApiError:
    shown = global_id if len(global_id) <= MAX_GLOBAL_ID_LENGTH else global_id[:20] + "…"
    return ApiError(f"{shown!r} is not a valid id", "INVALID_ID")


def from_global_id(global_id: str) -> tuple[str, int]:
    if len(global_id) > MAX_GLOBAL_ID_LENGTH:
        raise _invalid(global_id)
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        type_name, _, text = base64.urlsafe_b64decode(padded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid(global_id) from None
    # Digits only: int() would also take " 7", "+7", "0_7" and other scripts' digits.
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_DATABASE_ID:
        raise _invalid(global_id)
    return type_name, int(text)


def database_id(global_id: str, expected_type: str) -> int:
    type_name, number = from_global_id(global_id)
    if type_name != expected_type:
        article = "an" if expected_type[:1] in "AEIOU" else "a"  # an ApiKey, a Printer
        raise ApiError(f"{global_id!r} is not {article} {expected_type} id", "INVALID_ID")
    return number
