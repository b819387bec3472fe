"""job rollup day statuses: the farm's days without the filament type

A calendar over the whole history then sums one row per day and status. Filled from
``job_rollup_days`` (the same jobs, summed once more); the downgrade drops it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = ("farm_zone", "day", "status")
SUMS = ("job_count", "print_time", "total_time", "filament_used")


def upgrade() -> None:
    op.create_table(
        "job_rollup_day_statuses",
        sa.Column("farm_zone", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("print_time", sa.Double(), nullable=False),
        sa.Column("total_time", sa.Double(), nullable=False),
        sa.Column("filament_used", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(*KEYS, name=op.f("pk_job_rollup_day_statuses")),
    )
    sums = ", ".join(f"SUM({name})" for name in SUMS)
    op.execute(
        f"INSERT INTO job_rollup_day_statuses ({', '.join(KEYS + SUMS)}) "
        f"SELECT {', '.join(KEYS)}, {sums} FROM job_rollup_days GROUP BY {', '.join(KEYS)}"
    )


def downgrade() -> None:
    op.drop_table("job_rollup_day_statuses")
