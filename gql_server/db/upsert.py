"""Dialect-native "insert or update" statements: one round trip for a whole batch.

The statement is built without rows and executed with a list of parameter sets
(``session.execute(statement, rows)``): sqlite3 runs one prepared statement over all
rows in C and PyMySQL rewrites it into one multi-row INSERT. Rendering the rows into the
SQL text instead makes SQLAlchemy compile every batch anew (bench/import_history.py
measures the import), and a statement that is never the same twice defeats its cache.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, Text, bindparam
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from gql_server.db import json_rows
from gql_server.db.json_rows import RowsStatement


def upsert_statement(
    dialect: Dialect,
    table: Table,
    *,
    conflict_columns: Sequence[str],
    update_columns: Sequence[str],
    text_columns: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> Executable:
    """``INSERT … ON CONFLICT DO UPDATE`` (SQLite) or ``… ON DUPLICATE KEY UPDATE`` (MySQL).

    ``conflict_columns`` must be a unique key of ``table``; MySQL infers it, SQLite needs
    it spelled out. Every updated value comes from the row itself (``excluded.x`` /
    ``VALUES(x)``): PyMySQL batches only when the ON DUPLICATE clause has no parameters.
    ``text_columns`` (JSON columns) are bound as the JSON text the caller serialized.
    ``returning``: columns of every row written, inserted or updated (only where
    ``dialect.insert_executemany_returning``: SQLite 3.35, MariaDB 10.5; not MySQL).
    Built once per arguments: building it (``excluded``'s column collection) cost more
    than running it for an import's page.
    """
    statement = _upsert_statement(
        dialect, table, tuple(conflict_columns), tuple(update_columns), tuple(text_columns)
    )
    if not returning:
        return statement
    return _returning(statement, tuple(returning))


@cache
def _returning(statement: Any, columns: tuple[str, ...]) -> Executable:
    returned: Executable = statement.returning(*(statement.table.c[name] for name in columns))
    return returned


@cache
def _upsert_statement(
    dialect: Dialect,
    table: Table,
    conflict_columns: tuple[str, ...],
    update_columns: tuple[str, ...],
    text_columns: tuple[str, ...],
) -> Executable:
    text_binds = {name: bindparam(name, type_=Text()) for name in text_columns}
    if dialect.name == "sqlite":
        sqlite_stmt = sqlite.insert(table).values(text_binds)
        updates = {name: sqlite_stmt.excluded[name] for name in update_columns}
        return sqlite_stmt.on_conflict_do_update(
            index_elements=list(conflict_columns), set_=updates
        )
    if dialect.name in ("mysql", "mariadb"):
        mysql_stmt = mysql.insert(table).values(text_binds)
        updates = {name: mysql_stmt.inserted[name] for name in update_columns}
        return mysql_stmt.on_duplicate_key_update(updates)
    raise NotImplementedError(f"no upsert for dialect {dialect.name}")


def increment_statement(
    dialect: Dialect, table: Table, *, conflict_columns: Sequence[str], sum_columns: Sequence[str]
) -> RowsStatement:
    """Insert a row, or add its ``sum_columns`` to the row already under its key: one
    statement for a batch of deltas (``table.x + excluded.x`` / ``x + VALUES(x)``, no
    parameter in the update clause, so PyMySQL still batches the rows; on MariaDB the
    rows come as one JSON parameter, db/json_rows.py)."""
    names = (*conflict_columns, *(name for name in sum_columns if name not in conflict_columns))
    if dialect.name == "sqlite":
        sqlite_stmt = sqlite.insert(table)
        sums = {name: table.c[name] + sqlite_stmt.excluded[name] for name in sum_columns}
        statement = sqlite_stmt.on_conflict_do_update(
            index_elements=list(conflict_columns), set_=sums
        )
        return RowsStatement(statement, names, as_json=False)
    if dialect.name in ("mysql", "mariadb"):
        mysql_stmt, as_json = mysql_rows_insert(dialect, table, names)
        increments = mysql_stmt.on_duplicate_key_update(
            {name: table.c[name] + mysql_stmt.inserted[name] for name in sum_columns}
        )
        return RowsStatement(increments, names, as_json=as_json)
    raise NotImplementedError(f"no upsert for dialect {dialect.name}")


def mysql_rows_insert(
    dialect: Dialect, table: Table, names: tuple[str, ...]
) -> tuple[mysql.Insert, bool]:
    """MySQL's INSERT of ``names`` taking its rows from JSON where the server reads it
    (json_rows.enabled), else from parameter sets; True in the first case."""
    insert = mysql.insert(table)
    if json_rows.enabled(dialect):
        return insert.from_select(list(names), json_rows.source(dialect, table, names)), True
    return insert, False
