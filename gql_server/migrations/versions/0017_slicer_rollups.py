"""slicer rollups: the whole-history levels keyed by the slicer as well

``job_rollup_totals`` and ``job_cost_rollup_totals`` gain ``has_slicer`` and
``slicer_folded`` in their primary key, so statistics and costs grouped or filtered by
the slicer over the whole history sum their rows instead of every job. ``job_costs``
gains the ``slicer_folded`` its cost was summed under (copied from its job), which a
rewrite of the cost takes back. Both levels are recreated and filled from the jobs and
their costs by the code of ``gql-server rollups rebuild``; the days and the state row
are left as they were. The downgrade sums the slicers' rows back into one per former
key and drops the columns.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from gql_server.db.folding import folded_string
from gql_server.db.tables import JOB_COST_ROLLUP_TOTALS, JOB_ROLLUP_TOTALS
from gql_server.services.rollups.costs import rebuild as rebuild_costs
from gql_server.services.rollups.maintain import stored_zone, zone_of
from gql_server.services.rollups.rebuild import refill

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_KEYS = ("status", "has_filament_type", "filament_type_folded", "filament_type")
SLICER_KEYS = ("has_slicer", "slicer_folded")
JOB_SUMS = ("job_count", "print_time", "total_time", "filament_used")
COST_SUMS = ("job_count", "priced_jobs", "filament_cost", "machine_cost")
# (table, its sums' types): the two whole-history levels, keyed alike.
LEVELS = (
    ("job_rollup_totals", JOB_SUMS),
    ("job_cost_rollup_totals", COST_SUMS),
)
COUNTS = frozenset({"job_count", "priced_jobs"})


def _columns(sums: Sequence[str], *, slicer: bool) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("has_filament_type", sa.Boolean(), nullable=False),
        sa.Column("filament_type_folded", folded_string(100), nullable=False),
        sa.Column("filament_type", folded_string(100), nullable=False),
    ]
    if slicer:
        columns += [
            sa.Column("has_slicer", sa.Boolean(), nullable=False),
            sa.Column("slicer_folded", folded_string(100), nullable=False),
        ]
    columns += [
        sa.Column(name, sa.Integer() if name in COUNTS else sa.Double(), nullable=False)
        for name in sums
    ]
    return columns


def _create(table: str, sums: Sequence[str], *, slicer: bool) -> None:
    keys = ("printer_id", *JOB_KEYS, *(SLICER_KEYS if slicer else ()))
    op.create_table(
        table,
        *_columns(sums, slicer=slicer),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f(f"fk_{table}_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{table}")),
    )


def upgrade() -> None:
    op.add_column("job_costs", sa.Column("slicer_folded", folded_string(100), nullable=True))
    op.execute(
        "UPDATE job_costs SET slicer_folded = (SELECT print_jobs.slicer_folded "
        "FROM print_jobs WHERE print_jobs.id = job_costs.print_job_id)"
    )
    for table, sums in LEVELS:
        op.drop_table(table)  # nothing in them the jobs and their costs do not hold
        _create(table, sums, slicer=True)
    connection = op.get_bind()
    # Whole-history levels hold no day: the farm's zone does not change their rows.
    refill(connection, (JOB_ROLLUP_TOTALS,), zone_of(stored_zone(connection)))
    rebuild_costs(connection, None, levels=(JOB_COST_ROLLUP_TOTALS,))


def downgrade() -> None:
    connection = op.get_bind()
    keys = ("printer_id", *JOB_KEYS)
    for table, sums in LEVELS:
        # Read before the table goes: a row per printer, status and filament type.
        summed = ", ".join(f"SUM({name})" for name in sums)
        query = f"SELECT {', '.join(keys)}, {summed} FROM {table} GROUP BY {', '.join(keys)}"
        rows = [
            dict(zip((*keys, *sums), row, strict=True))
            for row in connection.execute(sa.text(query))
        ]
        op.drop_table(table)
        _create(table, sums, slicer=False)
        level = sa.table(table, *(sa.column(name) for name in (*keys, *sums)))
        for row in rows:
            for name in sums:
                row[name] = int(row[name]) if name in COUNTS else float(row[name])
        if rows:
            connection.execute(sa.insert(level), rows)
    with op.batch_alter_table("job_costs") as batch:
        batch.drop_column("slicer_folded")
