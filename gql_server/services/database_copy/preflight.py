"""What must hold before a copy writes anything: both databases at the same revision,
and a target that is empty, resumable, or given up (``force``)."""

from sqlalchemy import Engine, literal, select

from gql_server.db.migrate import current_revision, head_revision
from gql_server.db.models import JobRollupState
from gql_server.services.database_copy.errors import (
    REVISION_MISMATCH,
    SAME_DATABASE,
    SOURCE_NOT_MIGRATED,
    TARGET_NOT_EMPTY,
    CopyRefused,
)
from gql_server.services.database_copy.raw_tables import COPIED_TABLES

# Migrating writes this table's one row (the rollups' zone); the copy replaces it.
SEEDED_BY_MIGRATION = frozenset({JobRollupState.__tablename__})
FORCE_DOES = "--force empties every table of the target, then copies"


def check_source(source: Engine) -> str:
    """The source's revision, which must be this release's newest: the tables are copied
    as this release declares them."""
    head = head_revision()
    source_revision = current_revision(source)
    if source_revision is None:
        raise CopyRefused(
            "the source has no migration revision: it is not a gql_server database",
            code=SOURCE_NOT_MIGRATED,
        )
    if source_revision != head:
        raise CopyRefused(
            f"the source is at revision {source_revision} and this gql-server copies at "
            f"{head}: run `gql-server migrate` on the source first "
            "(DATABASE_URL=<the --from URL>)",
            code=REVISION_MISMATCH,
        )
    return source_revision


def target_needs_migrating(source: Engine, target: Engine) -> bool:
    """An unmigrated target is migrated; one at another revision than the source refused."""
    source_revision = check_source(source)
    target_revision = current_revision(target)
    if target_revision is not None and target_revision != source_revision:
        raise CopyRefused(
            f"the target is at revision {target_revision}, the source at {source_revision}: "
            "run `gql-server migrate` on the target (DATABASE_URL=<the --to URL>), or copy "
            "into an empty database",
            code=REVISION_MISMATCH,
        )
    return target_revision is None


def tables_with_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [
            table.name
            for table in COPIED_TABLES
            if table.name not in SEEDED_BY_MIGRATION
            and connection.execute(select(literal(1)).select_from(table).limit(1)).first()
        ]


def refuse_filled_target(target: Engine) -> None:
    filled = tables_with_rows(target)
    if filled:
        raise CopyRefused(
            f"the target already holds rows (in {', '.join(filled)}): {FORCE_DOES}",
            code=TARGET_NOT_EMPTY,
        )


def refuse_same_database(source_label: str, target_label: str) -> None:
    if source_label == target_label:
        raise CopyRefused(
            f"--from and --to both name {source_label}: a copy needs two databases",
            code=SAME_DATABASE,
        )
