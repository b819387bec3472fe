"""odometer index

A covering index of each printer's jobs by start time with the two figures a
maintenance task's odometers sum (print duration, filament used): a task's sums since
it was last done are then one range of this index, never a lookup of each job's row
(MariaDB read every row of the range from the table).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_print_jobs_printer_id_start_time_odometers"


def upgrade() -> None:
    op.create_index(
        NAME, "print_jobs", ["printer_id", "start_time", "print_duration", "filament_used"]
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="print_jobs")
