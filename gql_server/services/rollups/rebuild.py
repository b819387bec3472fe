"""Every rollup recomputed from the jobs: ``gql-server rollups rebuild`` and migrations
0010 and 0017.

One transaction: the state row is locked (imports wait to apply their deltas), the rows
are deleted, the jobs read in chunks of ids and summed in Python with the import's own
code (rollups.tally), the rows written, and the zone recorded. Readers see the old
rollups until the commit, then the new ones.
"""

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from gql_server.db.models import JobRollupState, PrintJob
from gql_server.db.types import utcnow
from gql_server.services.rollups import files
from gql_server.services.rollups.maintain import STATE_ID, stored_zone, zone_of
from gql_server.services.rollups.tally import (
    CHUNK,
    LEVELS,
    Tally,
    contributions_query,
    read_contributions,
)

READ_CHUNK = 20_000

Progress = Callable[[int, int], None]  # (jobs read, jobs in all)


def rebuild(
    connection: Connection,
    timezone: str,
    progress: Progress | None = None,
    levels: Sequence[Table] = LEVELS,
    *,
    file_levels: bool = True,
) -> int:
    """Rebuild ``levels`` for farm zone ``timezone`` (an IANA name), and the per-file
    levels unless ``file_levels`` is False; returns the jobs counted. A migration names
    the levels that exist at its revision."""
    stored_zone(connection, lock=True)
    for level in levels:
        connection.execute(delete(level))
    done = refill(connection, levels, zone_of(timezone), progress)
    if file_levels:
        files.rebuild(connection)
    connection.execute(
        update(JobRollupState)
        .where(JobRollupState.id == STATE_ID)
        .values(timezone=timezone, built_at=utcnow())
    )
    return done


def refill(
    connection: Connection,
    levels: Sequence[Table],
    farm_zone: ZoneInfo | None,
    progress: Progress | None = None,
) -> int:
    """Sum every job into ``levels``, which must be empty, and write them; returns the
    jobs counted. Migration 0017 refills the whole-history level alone, leaving the
    days and the state row as they were."""
    total = connection.execute(select(func.count()).select_from(PrintJob)).scalar_one()
    tally = Tally(farm_zone)
    done, last_id = 0, 0
    while True:
        query = contributions_query().where(PrintJob.id > last_id).order_by(PrintJob.id)
        jobs = read_contributions(connection, query.limit(READ_CHUNK))
        for job in jobs:
            tally.add(job)
        done += len(jobs)
        if progress is not None:
            progress(done, total)
        if len(jobs) < READ_CHUNK:
            break
        last_id = jobs[-1].id
    for level in levels:
        rows = [row for row, _ in tally.rows(level)]
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(level), rows[start : start + CHUNK])
    return done
