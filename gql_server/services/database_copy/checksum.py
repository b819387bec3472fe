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


def canonical(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: a bool is an int
        return f"bool:{int(value)}"
    if isinstance(value, int):
        return f"int:{value}"
    if isinstance(value, float):
        return f"float:{value!r}"
    if isinstance(value, str):
        return f"str:{value}"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"bytes:{bytes(value).hex()}"
    if isinstance(value, datetime):
        return f"datetime:{as_utc(value).isoformat()}"
    if isinstance(value, date):
        return f"date:{value.isoformat()}"
    if isinstance(value, Decimal):
        return f"decimal:{value}"
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
