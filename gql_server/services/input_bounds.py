"""The bounds every filter value must keep, each declared once and checked here.

An unbounded value reached the database as an internal error before these existed: a
60,000-character substring made SQLite refuse the LIKE pattern (its limit is 50,000
bytes), a timestamp whose zone moved it past year 9999 overflowed on its way to UTC.
Each check raises a ``ValidationError`` naming the field, with a stable code.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from gql_server.db.types import as_utc
from gql_server.services.errors import ValidationError

T = TypeVar("T")

# Substrings and exact matches (nameContains, filenameContains, user, slicer, location,
# each filament type). The longest text column they compare with holds 500 characters
# (filename); nobody types a longer search, and 200 escaped characters stay far below
# SQLite's LIKE limit.
FILTER_TEXT_MAX = 200
# Items of a list argument (printer ids, statuses, filament types, scopes): a dashboard
# picks a few; 100 is a whole farm.
LIST_MAX = 100


def check_text(value: str | None, *, field: str, maximum: int = FILTER_TEXT_MAX) -> str | None:
    """``value`` unchanged when it is at most ``maximum`` characters long."""
    if value is None:
        return None
    if len(value) > maximum:
        raise ValidationError(
            f"{field} is {len(value)} characters long; the maximum is {maximum}",
            field=field,
            code="TOO_LONG",
        )
    return value


def check_items(
    values: Sequence[T] | None, *, field: str, maximum: int = LIST_MAX
) -> Sequence[T] | None:
    """``values`` unchanged when the list holds at most ``maximum`` items."""
    if values is not None and len(values) > maximum:
        raise ValidationError(
            f"{field} has {len(values)} items; the maximum is {maximum}",
            field=field,
            code="TOO_LONG",
        )
    return values


def to_utc(value: datetime | None, *, field: str) -> datetime | None:
    """The instant in UTC (a time without a zone is taken as UTC, like every time in this
    API); refused when moving it to UTC leaves the years 1–9999 that Python (and so the
    database drivers) can hold: 9999-12-31T23:59:59-14:00 is in year 10000 in UTC."""
    if value is None:
        return None
    try:
        return as_utc(value)
    except OverflowError:
        raise ValidationError(
            f"{field} is out of range once moved to UTC; "
            f"use a time between {datetime.min.isoformat()}Z and {datetime.max.isoformat()}Z",
            field=field,
            code="OUT_OF_RANGE",
        ) from None
