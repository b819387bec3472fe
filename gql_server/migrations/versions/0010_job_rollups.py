"""job rollups: counts and sums per printer and per farm day, kept by the import

The tables of services/rollups, built here for the jobs already stored, with the same
code as ``gql-server rollups rebuild`` (services/rollups/rebuild.py): farm-zone days in
GQL_TIMEZONE (default UTC). ``job_rollup_totals`` is created empty: today's code keys
it by the slicer as well, a column it gains in 0017, which fills it. The downgrade drops
them; they hold nothing the jobs do not.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import os
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import gql_server.db.types
from gql_server.db.tables import JOB_ROLLUP_DAYS
from gql_server.services.rollups.rebuild import rebuild

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _binary_text(width: int) -> sa.types.TypeEngine[Any]:
    return sa.String(length=width).with_variant(
        mysql.VARCHAR(length=width, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def _job_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("has_filament_type", sa.Boolean(), nullable=False),
        sa.Column("filament_type_folded", _binary_text(100), nullable=False),
        sa.Column("filament_type", _binary_text(100), nullable=False),
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("print_time", sa.Double(), nullable=False),
        sa.Column("total_time", sa.Double(), nullable=False),
        sa.Column("filament_used", sa.Double(), nullable=False),
    ]


JOB_KEYS = ("status", "has_filament_type", "filament_type_folded", "filament_type")


def _farm_zone() -> str:
    name = os.environ.get("GQL_TIMEZONE", "UTC").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise RuntimeError(
            f"GQL_TIMEZONE must be an IANA zone such as Europe/Berlin, got {name!r}"
        ) from None
    return name


def upgrade() -> None:
    zone = _farm_zone()
    op.create_table(
        "job_rollup_totals",
        sa.Column("printer_id", sa.Integer(), nullable=False),
        *_job_columns(),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_job_rollup_totals_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("printer_id", *JOB_KEYS, name=op.f("pk_job_rollup_totals")),
    )
    op.create_table(
        "job_rollup_days",
        sa.Column("farm_zone", sa.Boolean(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *_job_columns(),
        sa.PrimaryKeyConstraint("farm_zone", "day", *JOB_KEYS, name=op.f("pk_job_rollup_days")),
    )
    state = op.create_table(
        "job_rollup_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("built_at", gql_server.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_rollup_state")),
    )
    assert state is not None
    op.bulk_insert(state, [{"id": 1, "timezone": "UTC"}])
    # The import's own summing code: the rollups must equal what it maintains. Only the
    # levels this revision creates whose key the code of the day still writes (0011
    # adds and fills job_rollup_day_statuses, 0017 job_rollup_totals).
    rebuild(op.get_bind(), zone, levels=(JOB_ROLLUP_DAYS,), file_levels=False)


def downgrade() -> None:
    op.drop_table("job_rollup_state")
    op.drop_table("job_rollup_days")
    op.drop_table("job_rollup_totals")
