"""job order indexes

An index for every job ordering, per printer and for the whole farm, so that a page of
jobs by end time, duration or filament used reads its rows in index order and stops
after the page instead of sorting every job (issue 12).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_COLUMNS = ("end_time", "total_duration", "filament_used")


def upgrade() -> None:
    for column in ORDER_COLUMNS:
        op.create_index(f"ix_print_jobs_printer_id_{column}", "print_jobs", ["printer_id", column])
        op.create_index(f"ix_print_jobs_{column}", "print_jobs", [column])


def downgrade() -> None:
    for column in ORDER_COLUMNS:
        op.drop_index(f"ix_print_jobs_{column}", table_name="print_jobs")
        op.drop_index(f"ix_print_jobs_printer_id_{column}", table_name="print_jobs")
