"""Per-file rollups: each file's jobs per printer (``print_file_printers``) and on
every printer (``print_file_totals``), kept with the jobs like the other levels.

Counts and sums move by deltas (after minus before of the jobs a batch touched). The
newest start is a maximum, which a delta cannot lower: a batch raises it to the newest
start it adds, and where a start leaves a row that outlives the batch (a job moved to
another file, a printer deleted: rare, since a rewrite keeps its start and file) the
row's maximum is read again. The success rate is written with the counts.
"""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect

from gql_server.db.json_rows import RowsStatement
from gql_server.db.models import PrintJob
from gql_server.db.tables import PRINT_FILE_PRINTERS, PRINT_FILE_TOTALS
from gql_server.db.upsert import mysql_rows_insert
from gql_server.services.rollups.tally import CHUNK, Contribution
from gql_server.services.stats_sql import COMPLETED, UNFINISHED

FILE_LEVELS = (PRINT_FILE_PRINTERS, PRINT_FILE_TOTALS)
FILE_KEYS: dict[Table, tuple[str, ...]] = {
    PRINT_FILE_PRINTERS: ("file_id", "printer_id"),
    PRINT_FILE_TOTALS: ("file_id",),
}
FILE_SUMS = (
    "job_count",
    "completed_count",
    "finished_count",
    "completed_print_time",
    "filament_used",
)


def _sums(job: Contribution, sign: int) -> tuple[float, ...]:
    completed = job.status == COMPLETED
    print_time = job.print_duration or 0.0
    return (
        sign,
        sign * completed,
        sign * (job.status != UNFINISHED),
        sign * print_time * completed,
        sign * (job.filament_used or 0.0),
    )


class _Row:
    __slots__ = ("added", "removed", "sums")

    def __init__(self) -> None:
        self.sums = [0.0] * len(FILE_SUMS)
        self.added: Counter[datetime] = Counter()
        self.removed: Counter[datetime] = Counter()


class FileTally:
    """The deltas of a batch per file level."""

    def __init__(self) -> None:
        self.levels: dict[Table, dict[tuple[int, ...], _Row]] = {t: {} for t in FILE_LEVELS}

    def add(self, job: Contribution, sign: int = 1) -> None:
        sums = _sums(job, sign)
        for level, key in (
            (PRINT_FILE_PRINTERS, (job.file_id, job.printer_id)),
            (PRINT_FILE_TOTALS, (job.file_id,)),
        ):
            rows = self.levels[level]
            row = rows.get(key)
            if row is None:
                row = rows[key] = _Row()
            for index, value in enumerate(sums):
                row.sums[index] += value
            (row.added if sign > 0 else row.removed)[job.start_time] += 1

    def changes(self, level: Table) -> list[tuple[dict[str, Any], bool, bool]]:
        """(row of deltas, emptied?, newest start to read again?) per key, in key order."""
        found = []
        for key, row in sorted(self.levels[level].items()):
            gone = row.removed - row.added
            if not any(row.sums) and not gone:
                continue
            values: dict[str, Any] = dict(zip(FILE_KEYS[level], key, strict=True))
            counts = [int(value) for value in row.sums[:3]]
            values.update(zip(FILE_SUMS, [*counts, *row.sums[3:]], strict=True))
            # A row that only lost jobs keeps its newest start (each lost start is at most
            # that); it is sent anyway, since the candidate row must not be NULL.
            values["last_start"] = max(row.added or row.removed)
            if level is PRINT_FILE_TOTALS:  # a new row's rate; a held row's is the upsert's
                values["success_rate"] = counts[1] / counts[2] if counts[2] > 0 else None
            found.append((values, row.sums[0] < 0, bool(gone)))
        return found


def _newest(excluded: Any, table: Table) -> Any:
    """The later of the stored and the delta's newest start."""
    held = table.c.last_start
    return case((excluded > held, excluded), else_=held)


def _names(level: Table) -> tuple[str, ...]:
    """The columns a level's delta row holds, in the order its statement takes them."""
    rate = ("success_rate",) if level is PRINT_FILE_TOTALS else ()
    return (*FILE_KEYS[level], *FILE_SUMS, "last_start", *rate)


@cache
def _increment(dialect: Dialect, level: Table) -> RowsStatement:
    """Built once per dialect and level, as rollups.maintain builds its statements; the
    file totals' success rate is written again from the new counts."""
    names = FILE_SUMS
    if dialect.name == "sqlite":
        lite = sqlite.insert(level)
        updates = {n: level.c[n] + lite.excluded[n] for n in names}
        updates["last_start"] = _newest(lite.excluded.last_start, level)
        if level is PRINT_FILE_TOTALS:  # SET reads the row as it was
            updates["success_rate"] = success_rate(
                updates["completed_count"], updates["finished_count"]
            )
        statement = lite.on_conflict_do_update(index_elements=list(FILE_KEYS[level]), set_=updates)
        return RowsStatement(statement, _names(level), as_json=False)
    maria, as_json = mysql_rows_insert(dialect, level, _names(level))
    # MariaDB assigns left to right and later assignments see earlier ones: each sum
    # reads only its own column and the inserted row, and the rate, last, the new counts.
    values = [(n, level.c[n] + maria.inserted[n]) for n in names]
    values.append(("last_start", _newest(maria.inserted.last_start, level)))
    if level is PRINT_FILE_TOTALS:
        rate = success_rate(level.c.completed_count, level.c.finished_count)
        values.append(("success_rate", rate))
    return RowsStatement(maria.on_duplicate_key_update(values), _names(level), as_json)


def _key_match(level: Table) -> Any:
    return and_(*(level.c[name] == bindparam(f"key_{name}") for name in FILE_KEYS[level]))


def _newest_start_of(level: Table) -> Any:
    """The newest start of the row's jobs, as a correlated subquery: a file's from its
    per-printer rows (written first), which holds when a deleted printer's jobs are
    still there; a per-printer row's from its jobs, written by then."""
    if level is PRINT_FILE_TOTALS:
        rows = PRINT_FILE_PRINTERS
        newest = select(func.max(rows.c.last_start)).where(rows.c.file_id == level.c.file_id)
        return newest.scalar_subquery()
    jobs = select(func.max(PrintJob.start_time)).where(
        PrintJob.file_id == level.c.file_id, PrintJob.printer_id == level.c.printer_id
    )
    return jobs.scalar_subquery()


def success_rate(completed: Any, finished: Any) -> Any:
    """Completed over finished jobs, NULL with none finished: in doubles on both
    databases (MariaDB divides integers into a 4-digit DECIMAL and skips a CAST to
    DOUBLE), as Python divides a new row's counts. No parameter: MariaDB's upsert
    clause must hold none for PyMySQL to batch it."""
    as_double = literal_column("1e0") * completed
    return case((finished > literal_column("0"), as_double / finished))


def apply(
    connection: Connection, before: Sequence[Contribution], after: Sequence[Contribution]
) -> None:
    """Move the file levels from ``before`` to ``after`` (rollups.maintain.apply, with
    the state row locked)."""
    tally = FileTally()
    for job in before:
        tally.add(job, -1)
    for job in after:
        tally.add(job)
    for level in FILE_LEVELS:
        changes = tally.changes(level)
        if not changes:
            continue
        rows = [values for values, _, _ in changes]
        statement = _increment(connection.dialect, level)
        for start in range(0, len(rows), CHUNK):
            statement.execute(connection, rows[start : start + CHUNK])
        keys = [
            ({f"key_{n}": values[n] for n in FILE_KEYS[level]}, emptied, again)
            for values, emptied, again in changes
        ]
        emptied = [key for key, lowered, _ in keys if lowered]
        if emptied:
            connection.execute(
                delete(level).where(_key_match(level), level.c.job_count == 0), emptied
            )
        again = [key for key, _, recount in keys if recount]
        if again:
            connection.execute(
                update(level).where(_key_match(level)).values(last_start=_newest_start_of(level)),
                again,
            )


def grouped_jobs(*keys: Any) -> Select[Any]:
    """Every job summed per ``keys`` (columns of print_jobs), in the levels' columns and
    by their rule; the caller may add WHERE (``files`` under start bounds)."""
    completed = PrintJob.status == COMPLETED
    as_int = case((completed, 1), else_=0)
    print_time = func.coalesce(PrintJob.print_duration, 0.0)
    return select(
        *keys,
        cast(func.count(), Integer).label("job_count"),
        cast(func.sum(as_int), Integer).label("completed_count"),
        cast(func.sum(case((PrintJob.status != UNFINISHED, 1), else_=0)), Integer).label(
            "finished_count"
        ),
        func.sum(case((completed, print_time), else_=0.0)).label("completed_print_time"),
        func.sum(func.coalesce(PrintJob.filament_used, 0.0)).label("filament_used"),
        func.max(PrintJob.start_time).label("last_start"),
    ).group_by(*keys)


def rebuild(connection: Connection) -> None:
    """Both file levels recomputed from the jobs by the database (a GROUP BY each), in
    the caller's transaction: ``gql-server rollups rebuild`` and migration 0014."""
    for level in FILE_LEVELS:
        connection.execute(delete(level))
    columns = [*FILE_SUMS, "last_start"]
    connection.execute(
        insert(PRINT_FILE_PRINTERS).from_select(
            ["file_id", "printer_id", *columns], grouped_jobs(PrintJob.file_id, PrintJob.printer_id)
        )
    )
    connection.execute(
        insert(PRINT_FILE_TOTALS).from_select(["file_id", *columns], grouped_jobs(PrintJob.file_id))
    )
    _rewrite_all_rates(connection)


def _rewrite_all_rates(connection: Connection) -> None:
    rate = success_rate(PRINT_FILE_TOTALS.c.completed_count, PRINT_FILE_TOTALS.c.finished_count)
    connection.execute(update(PRINT_FILE_TOTALS).values(success_rate=rate))
