"""Dialect-native "insert or update" statements: one round trip for a whole batch."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ColumnElement, Executable


def upsert_statement(
    dialect: Dialect,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_columns: Sequence[str],
    update_columns: Sequence[str],
    extra_updates: Mapping[str, ColumnElement[Any] | Any] | None = None,
) -> Executable:
    """``INSERT … ON CONFLICT DO UPDATE`` (SQLite) or ``… ON DUPLICATE KEY UPDATE`` (MySQL).

    ``conflict_columns`` must be a unique key of ``table``; MySQL infers it, SQLite needs
    it spelled out. ``extra_updates`` are set on update only (e.g. ``updated_at``).
    """
    extra = dict(extra_updates or {})
    if dialect.name == "sqlite":
        stmt = sqlite.insert(table).values(list(rows))
        updates = {name: stmt.excluded[name] for name in update_columns}
        return stmt.on_conflict_do_update(
            index_elements=list(conflict_columns), set_={**updates, **extra}
        )
    if dialect.name in ("mysql", "mariadb"):
        stmt = mysql.insert(table).values(list(rows))
        updates = {name: stmt.inserted[name] for name in update_columns}
        return stmt.on_duplicate_key_update({**updates, **extra})
    raise NotImplementedError(f"no upsert for dialect {dialect.name}")
