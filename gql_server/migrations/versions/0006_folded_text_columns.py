"""folded text columns and totals counted Moonraker's way

Case-folded copies of the texts that filters match (printer name and location, job user,
filename and slicer, filament type), compared byte for byte on every database so that
SQLite and MariaDB give the same answers (gql_server/db/folding.py); and job_totals'
figures over the jobs Moonraker counts (every status but in_progress and interrupted),
which its own totals are compared with. The upgrade fills both for the rows stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import json
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, folded column, source column, width, indexed)
FOLDED = (
    ("printers", "name_folded", "name", 100, False),
    ("printers", "location_folded", "location", 200, True),
    ("print_jobs", "user_folded", "user", 100, True),
    ("print_jobs", "filename_folded", "filename", 500, False),
    ("print_jobs", "slicer_folded", "metadata", 100, True),
    ("job_details", "filament_type_folded", "filament_type", 100, True),
)
BATCH_ROWS = 1000
NOT_COUNTED_BY_MOONRAKER = ("in_progress", "interrupted")
# (job_totals column, type, aggregate over the printer's counted jobs)
FINISHED: tuple[tuple[str, sa.types.TypeEngine[Any], str], ...] = (
    ("finished_jobs", sa.Integer(), "COUNT(*)"),
    ("finished_time", sa.Double(), "COALESCE(SUM(COALESCE(total_duration, 0)), 0)"),
    ("finished_print_time", sa.Double(), "COALESCE(SUM(COALESCE(print_duration, 0)), 0)"),
    ("finished_filament_used", sa.Double(), "COALESCE(SUM(COALESCE(filament_used, 0)), 0)"),
    ("longest_finished_job", sa.Double(), "COALESCE(MAX(COALESCE(total_duration, 0)), 0)"),
)


def _folded_type(width: int) -> sa.types.TypeEngine[Any]:
    return sa.String(length=width).with_variant(
        mysql.VARCHAR(length=width, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def _fold(text: Any, width: int) -> str | None:
    """db/folding.py's rule as of this revision (copied: a migration must not change)."""
    if not isinstance(text, str):
        return None
    return unicodedata.normalize("NFC", text.casefold()).strip()[:width]


def _slicer(metadata_text: Any) -> str | None:
    try:
        metadata = json.loads(metadata_text) if isinstance(metadata_text, str) else None
    except ValueError:
        return None
    slicer = metadata.get("slicer") if isinstance(metadata, dict) else None
    return slicer if isinstance(slicer, str) else None


def upgrade() -> None:
    for table in dict.fromkeys(name for name, *_ in FOLDED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, _, width, indexed in (f for f in FOLDED if f[0] == table):
                batch_op.add_column(sa.Column(column, _folded_type(width), nullable=True))
                if indexed:
                    batch_op.create_index(f"ix_{table}_{column}", [column], unique=False)
    for table in dict.fromkeys(name for name, *_ in FOLDED):
        _fill(table, [f for f in FOLDED if f[0] == table])
    with op.batch_alter_table("job_totals", schema=None) as batch_op:
        for column, column_type, _ in FINISHED:
            batch_op.add_column(sa.Column(column, column_type, server_default="0", nullable=False))
    _fill_finished()


def _fill_finished() -> None:
    """One UPDATE with correlated subqueries: valid on SQLite and MariaDB alike."""
    counted = (
        "FROM print_jobs WHERE print_jobs.printer_id = job_totals.printer_id "
        f"AND print_jobs.status NOT IN {NOT_COUNTED_BY_MOONRAKER!r}"
    )
    assignments = ", ".join(
        f"{column} = (SELECT {aggregate} {counted})" for column, _, aggregate in FINISHED
    )
    op.execute(f"UPDATE job_totals SET {assignments}")


def _rows(table: sa.TableClause, sources: list[str]) -> Iterator[Sequence[sa.Row[Any]]]:
    """The rows' ids and sources, a batch at a time by id: bounded memory."""
    connection = op.get_bind()
    last_id = 0
    while True:
        query = (
            sa.select(table.c.id, *(table.c[name] for name in sources))
            .where(table.c.id > last_id)
            .order_by(table.c.id)
            .limit(BATCH_ROWS)
        )
        batch = connection.execute(query).all()
        if not batch:
            return
        yield batch
        last_id = batch[-1][0]


def _fill(table_name: str, columns: list[tuple[str, str, str, int, bool]]) -> None:
    sources = list(dict.fromkeys(source for _, _, source, _, _ in columns))
    folded = [column for _, column, _, _, _ in columns]
    table = sa.table(
        table_name,
        sa.column("id", sa.Integer),
        *(sa.column(name, sa.Text) for name in [*sources, *folded]),
    )
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"new_{name}") for name in folded})
    )
    for batch in _rows(table, sources):
        values = []
        for row in batch:
            by_source: dict[str, Any] = dict(zip(sources, row[1:], strict=True))
            entry: dict[str, Any] = {"row_id": row[0]}
            for _, column, source, width, _ in columns:
                text = (
                    _slicer(by_source[source]) if column == "slicer_folded" else by_source[source]
                )
                entry[f"new_{column}"] = _fold(text, width)
            values.append(entry)
        op.get_bind().execute(update, values)


def downgrade() -> None:
    with op.batch_alter_table("job_totals", schema=None) as batch_op:
        for column, _, _ in FINISHED:
            batch_op.drop_column(column)
    for table in reversed(list(dict.fromkeys(name for name, *_ in FOLDED))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, _, _, indexed in (f for f in FOLDED if f[0] == table):
                if indexed:
                    batch_op.drop_index(f"ix_{table}_{column}")
                batch_op.drop_column(column)
