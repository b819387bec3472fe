"""Where an interrupted copy left off, kept in the target itself.

Each batch of rows and the new position of its table are committed in one transaction,
so after a kill the target holds exactly the rows up to the recorded key, and a rerun
goes on from there: nothing copied twice, nothing skipped. Positions are keys in the
*source's* order (MariaDB and SQLite order text differently), which is why they are
recorded rather than taken from the largest key in the target. The table is not a
model: it exists only while a copy is unfinished and is dropped once it is verified.
"""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    update,
)

from gql_server.services.database_copy.raw_tables import COPIED_TABLES, Key, decode_key, encode_key

PROGRESS = Table(
    "gql_copy_progress",
    MetaData(),
    Column("table_name", String(64), primary_key=True),
    Column("source", Text, nullable=False),  # the source as `database_label` names it
    Column("position", Text),  # JSON list of the last key copied; null before the first
    Column("copied", Integer, nullable=False),
    Column("finished", Boolean, nullable=False),
)


@dataclass(frozen=True, slots=True)
class TableProgress:
    position: Key | None
    copied: int
    finished: bool


def recorded(engine: Engine) -> dict[str, Any] | None:
    """The unfinished copy's progress by table (with its ``source``); None if none."""
    if not inspect(engine).has_table(PROGRESS.name):
        return None
    with engine.connect() as connection:
        rows = connection.execute(select(PROGRESS)).all()
    if not rows:
        return None
    return {row.table_name: row for row in rows}


def progress_of(rows: dict[str, Any], table: Table) -> TableProgress:
    row = rows[table.name]
    position = None if row.position is None else decode_key(table, json.loads(row.position))
    return TableProgress(position=position, copied=row.copied, finished=bool(row.finished))


def recreate(engine: Engine) -> None:
    """A new, empty progress table (DDL commits by itself on MariaDB: done first)."""
    PROGRESS.drop(engine, checkfirst=True)
    PROGRESS.create(engine)


def start(connection: Connection, source: str) -> None:
    rows = [
        {"table_name": t.name, "source": source, "position": None, "copied": 0, "finished": False}
        for t in COPIED_TABLES
    ]
    connection.execute(PROGRESS.insert(), rows)


def advance(
    connection: Connection, table: Table, position: Key | None, copied: int, *, finished: bool
) -> None:
    stored = None if position is None else json.dumps(encode_key(position))
    connection.execute(
        update(PROGRESS)
        .where(PROGRESS.c.table_name == table.name)
        .values(position=stored, copied=copied, finished=finished)
    )


def drop(engine: Engine) -> None:
    PROGRESS.drop(engine, checkfirst=True)
