"""The whole copy: check, prepare the target (fresh or resumed), copy each table in
dependency order, then verify every table on both sides."""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from gql_server.db.migrate import upgrade_to_head
from gql_server.db.models import Printer
from gql_server.services.database_copy import preflight, progress_table
from gql_server.services.database_copy.checksum import TableSum, table_sum
from gql_server.services.database_copy.errors import OTHER_SOURCE, CopyRefused
from gql_server.services.database_copy.raw_tables import CHECKED_TABLES, COPIED_TABLES
from gql_server.services.database_copy.transfer import Report, copy_table

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class TableCheck:
    table: str
    source: TableSum
    target: TableSum

    @property
    def same(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True, slots=True)
class CopyReport:
    resumed: bool
    checks: list[TableCheck]
    # Printers whose Moonraker API key was copied encrypted: the target needs the secret.
    encrypted_keys: int

    @property
    def same(self) -> bool:
        return all(check.same for check in self.checks)


def copy_database(
    source: Engine,
    target: Engine,
    *,
    source_label: str,
    force: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    report: Report,
    verifying: Callable[[], None] | None = None,
) -> CopyReport:
    """``report`` after each batch; ``verifying`` once every table is copied."""
    resumed = prepare_target(source, target, source_label=source_label, force=force)
    recorded = progress_table.recorded(target) or {}
    for table in COPIED_TABLES:
        done = progress_table.progress_of(recorded, table)
        copy_table(source, target, table, done, batch_size=batch_size, report=report)
    if verifying is not None:
        verifying()
    checks = verify(source, target)
    progress_table.drop(target)  # verified, same or not: a rerun starts over (--force)
    return CopyReport(resumed=resumed, checks=checks, encrypted_keys=count_encrypted_keys(source))


def prepare_target(source: Engine, target: Engine, *, source_label: str, force: bool) -> bool:
    """True when an interrupted copy from the same source is resumed. A fresh copy
    empties the target's tables (only the migration's seeded row, unless ``force``) in
    the transaction that records its start."""
    if preflight.target_needs_migrating(source, target):
        upgrade_to_head(target)
    recorded = progress_table.recorded(target)
    if recorded is not None and not force:
        sources = {row.source for row in recorded.values()}
        if sources != {source_label}:
            raise CopyRefused(
                f"the target holds an unfinished copy from {', '.join(sorted(sources))}: "
                f"rerun with that --from to finish it, or {preflight.FORCE_DOES}",
                code=OTHER_SOURCE,
            )
        return True
    if not force:
        preflight.refuse_filled_target(target)
    progress_table.recreate(target)
    with target.begin() as connection:
        for table in reversed(COPIED_TABLES):
            connection.execute(table.delete())
        progress_table.start(connection, source_label)
    return False


def verify(source: Engine, target: Engine) -> list[TableCheck]:
    return [
        TableCheck(
            table=table.name, source=table_sum(source, table), target=table_sum(target, table)
        )
        for table in CHECKED_TABLES
    ]


def count_encrypted_keys(engine: Engine) -> int:
    query = select(func.count()).where(Printer.moonraker_api_key.is_not(None))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
