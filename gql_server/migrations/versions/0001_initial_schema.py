"""initial schema: printers, print jobs, details, totals, api keys

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:36:42.637650
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gql_server.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_used", gql_server.db.types.UTCDateTime(), nullable=True),
        sa.Column("expires_at", gql_server.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_is_active"), ["is_active"], unique=False)

    op.create_table(
        "printers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("moonraker_url", sa.String(length=500), nullable=False),
        sa.Column("moonraker_api_key", sa.String(length=200), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_seen", gql_server.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printers")),
        sa.UniqueConstraint("name", name=op.f("uq_printers_name")),
    )
    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_printers_is_active"), ["is_active"], unique=False)

    op.create_table(
        "job_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("total_jobs", sa.Integer(), nullable=False),
        sa.Column("total_time", sa.Double(), nullable=False),
        sa.Column("total_print_time", sa.Double(), nullable=False),
        sa.Column("total_filament_used", sa.Double(), nullable=False),
        sa.Column("longest_job", sa.Double(), nullable=False),
        sa.Column("last_updated", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_job_totals_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_totals")),
        sa.UniqueConstraint("printer_id", name=op.f("uq_job_totals_printer_id")),
    )
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=100), nullable=False),
        sa.Column("user", sa.String(length=100), nullable=True),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("start_time", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("end_time", gql_server.db.types.UTCDateTime(), nullable=True),
        sa.Column("print_duration", sa.Double(), nullable=True),
        sa.Column("total_duration", sa.Double(), nullable=True),
        sa.Column("filament_used", sa.Double(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("auxiliary_data", sa.JSON(), nullable=True),
        sa.Column("created_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_print_jobs_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_jobs")),
        sa.UniqueConstraint(
            "printer_id",
            "job_id",
            "start_time",
            name=op.f("uq_print_jobs_printer_id_job_id_start_time"),
        ),
    )
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_print_jobs_printer_id_start_time", ["printer_id", "start_time"], unique=False
        )
        batch_op.create_index(
            "ix_print_jobs_printer_id_status", ["printer_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_print_jobs_start_time"), ["start_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_print_jobs_status"), ["status"], unique=False)

    op.create_table(
        "job_details",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("print_job_id", sa.Integer(), nullable=False),
        sa.Column("layer_height", sa.Double(), nullable=True),
        sa.Column("first_layer_height", sa.Double(), nullable=True),
        sa.Column("nozzle_temp", sa.Integer(), nullable=True),
        sa.Column("bed_temp", sa.Integer(), nullable=True),
        sa.Column("print_speed", sa.Integer(), nullable=True),
        sa.Column("infill_percentage", sa.Integer(), nullable=True),
        sa.Column("infill_pattern", sa.String(length=50), nullable=True),
        sa.Column("support_enabled", sa.Boolean(), nullable=True),
        sa.Column("support_type", sa.String(length=50), nullable=True),
        sa.Column("filament_type", sa.String(length=100), nullable=True),
        sa.Column("filament_brand", sa.String(length=200), nullable=True),
        sa.Column("filament_color", sa.String(length=100), nullable=True),
        sa.Column("estimated_time", sa.Integer(), nullable=True),
        sa.Column("estimated_filament", sa.Double(), nullable=True),
        sa.Column("layer_count", sa.Integer(), nullable=True),
        sa.Column("object_height", sa.Double(), nullable=True),
        sa.Column("raw_metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["print_job_id"],
            ["print_jobs.id"],
            name=op.f("fk_job_details_print_job_id_print_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_details")),
        sa.UniqueConstraint("print_job_id", name=op.f("uq_job_details_print_job_id")),
    )
    with op.batch_alter_table("job_details", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_details_filament_type"), ["filament_type"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("job_details", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_details_filament_type"))

    op.drop_table("job_details")
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_print_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_print_jobs_start_time"))
        batch_op.drop_index("ix_print_jobs_printer_id_status")
        batch_op.drop_index("ix_print_jobs_printer_id_start_time")

    op.drop_table("print_jobs")
    op.drop_table("job_totals")
    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_printers_is_active"))

    op.drop_table("printers")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_is_active"))

    op.drop_table("api_keys")
