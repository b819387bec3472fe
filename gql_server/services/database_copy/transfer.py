"""Copying one table in keyset batches: memory holds one batch, whatever the table's size."""

from collections.abc import Callable

from sqlalchemy import Engine, Table, func, select

from gql_server.services.database_copy import progress_table
from gql_server.services.database_copy.progress_table import TableProgress
from gql_server.services.database_copy.raw_tables import after, key_of, primary_key

# (table, rows copied, rows in the source, finished)
Report = Callable[[str, int, int, bool], None]


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def copy_table(
    source: Engine,
    target: Engine,
    table: Table,
    done: TableProgress,
    *,
    batch_size: int,
    report: Report,
) -> int:
    """Rows after ``done.position``, in primary-key order; each batch is committed with
    its new position, so a kill loses at most the batch in flight, and a rerun copies it
    again (it was never committed)."""
    total = count_rows(source, table)
    position, copied, finished = done.position, done.copied, done.finished
    report(table.name, copied, total, finished)
    while not finished:
        query = select(table).order_by(*primary_key(table)).limit(batch_size)
        if position is not None:
            query = query.where(after(table, position))
        with source.connect() as connection:
            rows = connection.execute(query).all()
        finished = len(rows) < batch_size
        with target.begin() as connection:
            if rows:
                connection.execute(table.insert(), [dict(row._mapping) for row in rows])
                position, copied = key_of(table, rows[-1]), copied + len(rows)
            progress_table.advance(connection, table, position, copied, finished=finished)
        report(table.name, copied, total, finished)
    return copied
