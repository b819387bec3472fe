"""Column types that paper over dialect quirks."""

import json
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary
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


class CompressedJSON(TypeDecorator[Any]):
    """A JSON document stored as its zlib-compressed text.

    Moonraker's metadata is most of a job's bytes and compresses to about half; no query
    looks inside it, so nothing is lost by storing it opaque. A ``str`` bound is taken
    as JSON text already serialized (services.jobs serializes each document once, for
    its digest too); anything else is serialized here. Reads give the decoded value.
    """

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.LONGBLOB())  # BLOB stops at 64 KiB
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return compress_json(text)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(zlib.decompress(value))


def compress_json(text: str) -> bytes:
    """The stored form of a JSON text. Level 1: the ratio of the default level at a
    fraction of its time on documents of a few KiB (bench/import_history.py)."""
    return zlib.compress(text.encode(), 1)
