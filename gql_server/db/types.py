"""Column types that paper over dialect quirks."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python.

    MySQL ``DATETIME`` has no zone and drops fractions unless declared ``DATETIME(6)``;
    SQLite keeps the ISO text. Converting at the boundary means the rest of the code
    only ever sees aware UTC datetimes with their microseconds intact.
    """

    impl = DateTime
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


def utcnow() -> datetime:
    """The one clock of the data layer, so tests can reason about it."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The same instant, aware and in UTC. A time without a zone is taken as UTC: the
    database stores naive UTC, and every time in this API without a zone means UTC.
    Moving an aware time to UTC can leave years 1-9999 (OverflowError)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
