"""Writing a rollup level's deltas: one upsert that adds them, one DELETE of the rows
they emptied. Every level (job rollups, cost rollups) is written this way."""

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from gql_server.db.json_rows import RowsStatement
from gql_server.db.upsert import increment_statement

# Rows per statement.
CHUNK = 500


@cache
def _statements(
    dialect: Dialect, level: Table, keys: tuple[str, ...], sums: tuple[str, ...]
) -> tuple[RowsStatement, Executable]:
    """(add deltas, delete the rows they emptied) for a level: built once per dialect,
    since building them cost more than running them on an import's page."""
    add = increment_statement(dialect, level, conflict_columns=keys, sum_columns=sums)
    matches = [level.c[name] == bindparam(f"key_{name}") for name in keys]
    return add, delete(level).where(and_(*matches), level.c.job_count == 0)


def write_level(
    connection: Connection,
    level: Table,
    keys: Sequence[str],
    sums: Sequence[str],
    changes: Iterable[tuple[dict[str, Any], bool]],
) -> None:
    """``changes``: (row of key and summed columns, its job count went down) per key."""
    rows, emptied = [], []
    for row, lowered in changes:
        rows.append(row)
        if lowered:
            emptied.append({f"key_{name}": row[name] for name in keys})
    if not rows:
        return
    add, delete_emptied = _statements(connection.dialect, level, tuple(keys), tuple(sums))
    for start in range(0, len(rows), CHUNK):
        add.execute(connection, rows[start : start + CHUNK])
    if emptied:
        connection.execute(delete_emptied, emptied)
