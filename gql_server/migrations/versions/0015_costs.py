"""costs: filament prices, printer hourly rates and each job's cost

Prices and rates are versioned (a row per change, in force from ``effective_from``);
``job_costs`` holds each job's cost as computed when the job was written, and the
``job_cost_rollup_*`` tables its sums per printer and per day. No job has a cost
before this revision (there was no price to compute one from): all start empty.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gql_server.db.types
from gql_server.db.folding import folded_string

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_KEYS = ("status", "has_filament_type", "filament_type_folded", "filament_type")


def upgrade() -> None:
    op.create_table(
        "filament_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filament_type", sa.String(length=100), nullable=False),
        sa.Column("filament_type_folded", folded_string(100), nullable=False),
        sa.Column("price_per_kg", sa.Double(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("density_g_per_cm3", sa.Double(), nullable=False),
        sa.Column("diameter_mm", sa.Double(), nullable=False),
        sa.Column("effective_from", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filament_prices")),
    )
    op.create_index(
        "ix_filament_prices_filament_type_folded_effective_from",
        "filament_prices",
        ["filament_type_folded", "effective_from"],
    )
    op.create_table(
        "printer_hourly_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("hourly_cost", sa.Double(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effective_from", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_printer_hourly_rates_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printer_hourly_rates")),
    )
    op.create_index(
        "ix_printer_hourly_rates_printer_id_effective_from",
        "printer_hourly_rates",
        ["printer_id", "effective_from"],
    )
    op.create_table(
        "job_costs",
        sa.Column("print_job_id", sa.Integer(), nullable=False),
        sa.Column("filament_grams", sa.Double(), nullable=True),
        sa.Column("filament_cost", sa.Double(), nullable=True),
        sa.Column("machine_cost", sa.Double(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("filament_price_source", sa.String(length=30), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("start_time", gql_server.db.types.UTCDateTime(), nullable=False),
        sa.Column("filament_type", sa.String(length=100), nullable=True),
        sa.Column("filament_type_folded", folded_string(100), nullable=True),
        sa.Column("filament_price_id", sa.Integer(), nullable=True),
        sa.Column("spool_id", sa.Integer(), nullable=True),
        sa.Column("spool_status", sa.String(length=20), nullable=True),
        sa.Column("spool_price_per_kg", sa.Double(), nullable=True),
        sa.Column("spool_density_g_per_cm3", sa.Double(), nullable=True),
        sa.Column("spool_diameter_mm", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["print_job_id"],
            ["print_jobs.id"],
            name=op.f("fk_job_costs_print_job_id_print_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["filament_price_id"],
            ["filament_prices.id"],
            name=op.f("fk_job_costs_filament_price_id_filament_prices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("print_job_id", name=op.f("pk_job_costs")),
    )
    op.create_table(
        "job_cost_rollup_totals",
        sa.Column("printer_id", sa.Integer(), nullable=False),
        *_cost_rollup_columns(),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_job_cost_rollup_totals_printer_id_printers"),
            ondelete="CASCADE",
        ),
        # The key's order is the job rollups' (0010): reads filter and group by its prefix.
        sa.PrimaryKeyConstraint("printer_id", *JOB_KEYS, name=op.f("pk_job_cost_rollup_totals")),
    )
    op.create_table(
        "job_cost_rollup_days",
        sa.Column("farm_zone", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_cost_rollup_columns(),
        sa.PrimaryKeyConstraint(
            "farm_zone", "day", *JOB_KEYS, name=op.f("pk_job_cost_rollup_days")
        ),
    )


def _cost_rollup_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("priced_jobs", sa.Integer(), nullable=False),
        sa.Column("filament_cost", sa.Double(), nullable=False),
        sa.Column("machine_cost", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("has_filament_type", sa.Boolean(), nullable=False),
        sa.Column("filament_type_folded", folded_string(100), nullable=False),
        sa.Column("filament_type", folded_string(100), nullable=False),
    ]


def downgrade() -> None:
    # Dropping a table drops its indexes (MariaDB refuses to drop one a foreign key uses).
    op.drop_table("job_cost_rollup_days")
    op.drop_table("job_cost_rollup_totals")
    op.drop_table("job_costs")
    op.drop_table("printer_hourly_rates")
    op.drop_table("filament_prices")
