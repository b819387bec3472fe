"""The tables as the copy reads and writes them: stored values, not the API's.

Compressed documents are read and written as the bytes stored (never decompressed and
compressed again, which could change them), and every column is written as read, ids
included. Datetimes keep their ``UTCDateTime`` type: it turns MariaDB's naive
``DATETIME(6)`` and SQLite's ISO text into the same aware UTC value, microseconds
intact, and back.
"""

from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    LargeBinary,
    MetaData,
    String,
    Table,
    literal,
    tuple_,
)

from gql_server.db.models import Base
from gql_server.db.types import CompressedJSON

RAW = MetaData()
# Not a model: Alembic's own table, copied by migrating the target (and then verified).
ALEMBIC_VERSION = Table("alembic_version", RAW, Column("version_num", String(32), primary_key=True))

Key = tuple[Any, ...]


def _raw_column(column: Column[Any]) -> Column[Any]:
    kind = LargeBinary() if isinstance(column.type, CompressedJSON) else column.type
    return Column(column.name, kind, primary_key=column.primary_key, autoincrement=False)


def _raw_table(table: Table) -> Table:
    return Table(table.name, RAW, *(_raw_column(column) for column in table.columns))


# Parents before children (foreign keys): the order rows are written in.
COPIED_TABLES: tuple[Table, ...] = tuple(_raw_table(t) for t in Base.metadata.sorted_tables)
CHECKED_TABLES: tuple[Table, ...] = (*COPIED_TABLES, ALEMBIC_VERSION)


def primary_key(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


def key_of(table: Table, row: Any) -> Key:
    return tuple(row._mapping[column.name] for column in primary_key(table))


def after(table: Table, key: Key) -> ColumnElement[bool]:
    """Rows whose primary key sorts after ``key`` (the keyset of the next batch)."""
    columns = primary_key(table)
    if len(columns) == 1:
        single: ColumnElement[bool] = columns[0] > key[0]
        return single
    values = [literal(value, column.type) for column, value in zip(columns, key, strict=True)]
    return tuple_(*columns) > tuple_(*values)


def encode_key(key: Key) -> list[Any]:
    """A key as JSON values (days as ISO text), for the progress table."""
    return [value.isoformat() if isinstance(value, date) else value for value in key]


def decode_key(table: Table, values: list[Any]) -> Key:
    return tuple(
        date.fromisoformat(value) if isinstance(column.type, Date) else value
        for column, value in zip(primary_key(table), values, strict=True)
    )
