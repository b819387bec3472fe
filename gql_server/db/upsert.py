"""Dialect-native "insert or update" statements: one round trip for a whole batch.

The statement is built without rows and executed with a list of parameter sets
(``session.execute(statement, rows)``): sqlite3 runs one prepared statement over all
rows in C and PyMySQL rewrites it into one multi-row INSERT. Rendering the rows into the
SQL text instead makes SQLAlchemy compile every batch anew (bench/import_history.py
measures the import), and a statement that is never the same twice defeats its cache.
"""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, bindparam
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable


def upsert_statement(
    dialect: Dialect,
    table: Table,
    *,
    conflict_columns: Sequence[str],
    update_columns: Sequence[str],
    text_columns: Sequence[str] = (),
    computed_updates: "ComputedUpdates | None" = None,
) -> Executable:
    """``INSERT … ON CONFLICT DO UPDATE`` (SQLite) or ``… ON DUPLICATE KEY UPDATE`` (MySQL).

    ``conflict_columns`` must be a unique key of ``table``; MySQL infers it, SQLite needs
    it spelled out. Every updated value comes from the row itself (``excluded.x`` /
    ``VALUES(x)``): PyMySQL batches only when the ON DUPLICATE clause has no parameters.
    ``text_columns`` (JSON columns) are bound as the JSON text the caller serialized.

    ``computed_updates(new)`` gives assignments computed from the stored row (the
    table's columns) and the new one (``new[name]``), set before ``update_columns``.
    SQLite evaluates every assignment on the stored row; MySQL left to right, each
    seeing the ones before it: so none may read a column that another one sets.
    """
    text_binds = {name: bindparam(name, type_=Text()) for name in text_columns}
    if dialect.name == "sqlite":
        sqlite_stmt = sqlite.insert(table).values(text_binds)
        new = sqlite_stmt.excluded
    elif dialect.name in ("mysql", "mariadb"):
        mysql_stmt = mysql.insert(table).values(text_binds)
        new = mysql_stmt.inserted
    else:
        raise NotImplementedError(f"no upsert for dialect {dialect.name}")
    updates = [*(computed_updates(new) if computed_updates else ())]
    updates += [(name, new[name]) for name in update_columns]
    if dialect.name == "sqlite":
        return sqlite_stmt.on_conflict_do_update(
            index_elements=list(conflict_columns), set_=dict(updates)
        )
    return mysql_stmt.on_duplicate_key_update(updates)  # a list: kept in this order


ComputedUpdates = Callable[[Any], Sequence[tuple[str, ColumnElement[Any]]]]
