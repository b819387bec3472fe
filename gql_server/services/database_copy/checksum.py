"""A table's checksum, computed the same way from either database.

Each row becomes a canonical text (floats by ``repr``, datetimes as ISO UTC, bytes as
hex, every value tagged with its kind) hashed with SHA-256; the table's checksum is the
sum of its rows' digests modulo 2**256. A sum does not depend on the order rows are
read in, and the databases do not agree on an order: MariaDB sorts text by its
collation (case-insensitive), SQLite by bytes. It still changes with any changed,
missing or duplicated row.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, select

from gql_server.db.types import as_utc

MODULUS = 2**256
READ_BATCH = 1000


@dataclass(frozen=True, slots=True)
class TableSum:
    rows: int
    checksum: str


# Each kind's tag and text, tried in order: bool before int (a bool is an int), and
# datetime before date (a datetime is a date).
KINDS: tuple[tuple[type | tuple[type, ...], str, Callable[[Any], str]], ...] = (
    (bool, "bool", lambda value: str(int(value))),
    (int, "int", str),
    (float, "float", repr),
    (str, "str", str),
    ((bytes, bytearray, memoryview), "bytes", lambda value: bytes(value).hex()),
    (datetime, "datetime", lambda value: as_utc(value).isoformat()),
    (date, "date", date.isoformat),
    (Decimal, "decimal", str),
)


def canonical(value: Any) -> str:
    if value is None:
        return "null"
    for kind, tag, text in KINDS:
        if isinstance(value, kind):
            return f"{tag}:{text(value)}"
    raise TypeError(f"no canonical text for {type(value).__name__}")


def row_digest(row: Any) -> int:
    text = json.dumps([canonical(value) for value in row])
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def table_sum(engine: Engine, table: Table) -> TableSum:
    """Streams the table (memory stays flat): a server-side cursor on MariaDB."""
    rows = 0
    total = 0
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True).execute(select(table))
        for partition in result.partitions(READ_BATCH):
            rows += len(partition)
            total = (total + sum(row_digest(row) for row in partition)) % MODULUS
    return TableSum(rows=rows, checksum=f"{total:064x}")
