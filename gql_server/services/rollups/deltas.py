"""Writing a rollup level's deltas: one upsert that adds them, one DELETE of the rows
they emptied. Every level (job rollups, cost rollups) is written this way."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any, Generic, Self, TypeVar

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


Job = TypeVar("Job")


class LevelSums(Generic[Job]):
    """Sums per key of each level, as a batch of jobs changes them: ``keys`` names each
    level's key columns (a key is the tuple of their values), ``sums`` its summed
    columns, of which the first ``counts`` are counts (the first, the job count)."""

    def __init__(
        self, keys: Mapping[Table, Sequence[str]], sums: Sequence[str], *, counts: int
    ) -> None:
        self.keys = keys
        self.sums = sums
        self.counts = counts
        self.levels: dict[Table, dict[tuple[Any, ...], list[float]]] = {t: {} for t in keys}

    def add(self, job: Job, sign: int = 1) -> None:
        """Add what ``job`` contributes to each level (sign -1 takes it back)."""
        raise NotImplementedError

    def moved(self, before: Iterable[Job], after: Iterable[Job]) -> Self:
        """The change from the jobs as they were to the jobs as they are now."""
        for job in before:
            self.add(job, -1)
        for job in after:
            self.add(job)
        return self

    def _add(self, level: Table, key: tuple[Any, ...], sums: tuple[float, ...]) -> None:
        held = self.levels[level].get(key)
        if held is None:
            self.levels[level][key] = list(sums)
        else:
            for index, value in enumerate(sums):
                held[index] += value

    def rows(self, level: Table) -> Iterator[tuple[dict[str, Any], bool]]:
        """(row, lowered) per key that changed, in key order (the order rows are
        locked in); ``lowered``: its job count went down, so it may have reached 0."""
        for key, sums in sorted(self.levels[level].items()):
            if not any(sums):
                continue
            row = dict(zip(self.keys[level], key, strict=True))
            counts = [int(value) for value in sums[: self.counts]]
            row.update(zip(self.sums, [*counts, *sums[self.counts :]], strict=True))
            yield row, sums[0] < 0


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
