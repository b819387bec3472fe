"""A batch of rows sent to MariaDB as one JSON parameter, read back with ``JSON_TABLE``.

PyMySQL sends a batch as one multi-row INSERT that it builds by escaping every value in
Python, one call per value: for the rollup deltas an import page writes (hundreds of
rows of ten columns) that escaping cost more than the server's work. Serialized by the
json module in C, the same rows are one string to escape (bench/import_history.py).

Used only where a statement's rows are plain values (numbers, text, dates) and only on
MariaDB 10.6 and later: MySQL 8 has ``JSON_TABLE`` too, but its upsert of a SELECT
cannot name the inserted row the way SQLAlchemy renders it there. ``GQL_JSON_ROWS=false``
turns it off; tests compare both paths on MariaDB.
"""

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, Table, text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TextualSelect

from gql_server.db.types import as_utc

PARAMETER = "json_rows"
MINIMUM_MARIADB = (10, 6)  # JSON_TABLE
SETTING = "GQL_JSON_ROWS"


def enabled(dialect: Dialect) -> bool:
    """True where rows may be sent as JSON: MariaDB with JSON_TABLE, unless switched off."""
    if os.environ.get(SETTING, "true").strip().lower() in ("0", "false", "no", "off"):
        return False
    version = dialect.server_version_info or ()
    return bool(getattr(dialect, "is_mariadb", False)) and tuple(version[:2]) >= MINIMUM_MARIADB


def _sql_type(column: Column[Any]) -> str:
    """The JSON_TABLE column type a value of ``column`` is read as: the column's own
    width for text, so that nothing is cut on the way."""
    python_type = column.type.python_type
    if python_type is bool or python_type is int:
        return "BIGINT"
    if python_type is float:
        return "DOUBLE"
    if python_type is datetime:
        return "DATETIME(6)"
    if python_type is date:
        return "DATE"
    if python_type is str:
        length = getattr(column.type, "length", None)
        if length is None:
            raise TypeError(f"{column} has no length: not sent as JSON rows")
        return f"VARCHAR({length}) CHARACTER SET utf8mb4"
    raise TypeError(f"{column} ({python_type}) is not sent as JSON rows")


@cache
def source(dialect: Dialect, table: Table, names: tuple[str, ...]) -> TextualSelect:
    """``SELECT <names> FROM JSON_TABLE(:json_rows …)``: each row a JSON array of the
    values of ``names`` in that order (``parameter`` builds it)."""
    columns = ", ".join(
        f"{name} {_sql_type(table.c[name])} PATH '$[{index}]'" for index, name in enumerate(names)
    )
    selected = ", ".join(f"rows_.{name}" for name in names)
    return text(
        f"SELECT {selected} FROM JSON_TABLE(:{PARAMETER}, '$[*]' COLUMNS ({columns})) AS rows_"
    ).columns(*(table.c[name] for name in names))


def _json_default(value: Any) -> str:
    """Dates and times, which JSON lacks, as MariaDB reads them; a time as naive UTC,
    as UTCDateTime binds it. Only these reach here: json writes the rest in C (booleans
    as true and false, which JSON_TABLE reads as 1 and 0)."""
    if isinstance(value, datetime):
        return as_utc(value).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not sent as JSON rows")


def parameter(names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The rows as the one parameter of ``source``: each row the array of its values of
    ``names``, in that order."""
    arrays = [[row[name] for name in names] for row in rows]
    # ensure_ascii=False: text goes as UTF-8, not as \u escapes (no surrogate pairs to
    # decode); allow_nan=False: NaN is not JSON, and no sum may hold one.
    text = json.dumps(arrays, ensure_ascii=False, allow_nan=False, default=_json_default)
    return {PARAMETER: text}


@dataclass(frozen=True, slots=True)
class RowsStatement:
    """A statement run once per batch of rows: with every row as JSON (``names`` in
    order) where ``as_json``, else as the driver's list of parameter sets."""

    statement: Executable
    names: tuple[str, ...]
    as_json: bool

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if self.as_json:
            connection.execute(self.statement, parameter(self.names, rows))
        else:
            connection.execute(self.statement, list(rows))
