"""sync bookkeeping

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gql_server.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("started_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", gql_server.db.types.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("jobs_seen", sa.Integer(), nullable=False),
        sa.Column("jobs_created", sa.Integer(), nullable=False),
        sa.Column("jobs_updated", sa.Integer(), nullable=False),
        sa.Column("details_extracted", sa.Integer(), nullable=False),
        sa.Column("requests_made", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=50), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_sync_runs_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_runs_printer_id_started_at", ["printer_id", "started_at"], unique=False
        )

    with op.batch_alter_table("job_totals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moonraker_total_jobs", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("moonraker_total_time", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("moonraker_total_print_time", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("moonraker_total_filament_used", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("moonraker_longest_job", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column("moonraker_reported_at", gql_server.db.types.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sync_watermark", gql_server.db.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sync_lease_until", gql_server.db.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("sync_lease_owner", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("last_sync_at", gql_server.db.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("last_sync_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("last_sync_error_code", sa.String(length=50), nullable=True))
        batch_op.add_column(
            sa.Column("last_sync_error_message", sa.String(length=500), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.drop_column("last_sync_error_message")
        batch_op.drop_column("last_sync_error_code")
        batch_op.drop_column("last_sync_status")
        batch_op.drop_column("last_sync_at")
        batch_op.drop_column("sync_lease_owner")
        batch_op.drop_column("sync_lease_until")
        batch_op.drop_column("sync_watermark")

    with op.batch_alter_table("job_totals", schema=None) as batch_op:
        batch_op.drop_column("moonraker_reported_at")
        batch_op.drop_column("moonraker_longest_job")
        batch_op.drop_column("moonraker_total_filament_used")
        batch_op.drop_column("moonraker_total_print_time")
        batch_op.drop_column("moonraker_total_time")
        batch_op.drop_column("moonraker_total_jobs")

    # Dropping the table drops its index; MariaDB refuses to drop an index its FK uses.
    op.drop_table("sync_runs")
