"""annotations and maintenance: job annotations, maintenance tasks and their records

Three new tables, nothing rewritten: a job's annotation lives apart from print_jobs so
that imports never touch it, and maintenance odometers are summed from the jobs, so the
tables start empty. The downgrade drops them with what they hold.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gql_server.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gql_server.db.types.UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "job_annotations",
        sa.Column("print_job_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("failure_reason", sa.String(length=32), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["print_job_id"],
            ["print_jobs.id"],
            name=op.f("fk_job_annotations_print_job_id_print_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("print_job_id", name=op.f("pk_job_annotations")),
    )
    op.create_index(
        op.f("ix_job_annotations_failure_reason"), "job_annotations", ["failure_reason"]
    )
    op.create_table(
        "maintenance_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("every_print_hours", sa.Double(), nullable=True),
        sa.Column("every_filament_meters", sa.Double(), nullable=True),
        sa.Column("every_days", sa.Double(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_maintenance_tasks_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_tasks")),
    )
    op.create_index(op.f("ix_maintenance_tasks_printer_id"), "maintenance_tasks", ["printer_id"])
    op.create_table(
        "maintenance_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("done_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["maintenance_tasks.id"],
            name=op.f("fk_maintenance_records_task_id_maintenance_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_records")),
    )
    op.create_index(
        "ix_maintenance_records_task_id_done_at", "maintenance_records", ["task_id", "done_at"]
    )


def downgrade() -> None:
    op.drop_table("maintenance_records")
    op.drop_table("maintenance_tasks")
    op.drop_table("job_annotations")
