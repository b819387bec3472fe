"""odometer index

Each printer's jobs by start time, the index every per-printer page by start time
reads, now also holds the two figures a maintenance task's odometers sum (print
duration, filament used): a task's sums since it was last done are one range of the
index, never a lookup of each job's row (MariaDB read every row of the range from the
table). ``id`` is spelled out before them, so the index still orders ties by id as a
page does.

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

NAME = "ix_print_jobs_printer_id_start_time"
STAGING = "ix_print_jobs_printer_id_start_time_new"
COVERING = ["printer_id", "start_time", "id", "print_duration", "filament_used"]


def _replace(columns: list[str]) -> None:
    # Built under another name first: MariaDB keeps an index on printer_id (its
    # foreign key's) at every moment. Renamed after, the index keeps the name it had.
    op.create_index(STAGING, "print_jobs", columns)
    op.drop_index(NAME, table_name="print_jobs")
    op.create_index(NAME, "print_jobs", columns)
    op.drop_index(STAGING, table_name="print_jobs")


def upgrade() -> None:
    _replace(COVERING)


def downgrade() -> None:
    _replace(["printer_id", "start_time"])
