"""file rollups: each file's jobs per printer and on every printer, kept by the import

``files`` answers from these at any farm size (services/rollups/files.py); they are
filled here from the jobs by the same code as ``gql-server rollups rebuild``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import gql_server.db.types
from gql_server.services.rollups.files import rebuild

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sums() -> list[sa.Column[Any]]:
    return [
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("completed_count", sa.Integer(), nullable=False),
        sa.Column("finished_count", sa.Integer(), nullable=False),
        sa.Column("completed_print_time", sa.Double(), nullable=False),
        sa.Column("filament_used", sa.Double(), nullable=False),
        sa.Column("last_start", gql_server.db.types.UTCDateTime(), nullable=False),
    ]


def _file_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["file_id"], ["print_files.id"], name=op.f(f"fk_{table}_file_id_print_files")
    )


def upgrade() -> None:
    op.create_table(
        "print_file_printers",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=False),
        *_sums(),
        _file_key("print_file_printers"),
        sa.ForeignKeyConstraint(
            ["printer_id"],
            ["printers.id"],
            name=op.f("fk_print_file_printers_printer_id_printers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "printer_id", name=op.f("pk_print_file_printers")),
    )
    op.create_index(
        op.f("ix_print_file_printers_printer_id"), "print_file_printers", ["printer_id"]
    )
    op.create_table(
        "print_file_totals",
        sa.Column("file_id", sa.Integer(), autoincrement=False, nullable=False),
        *_sums(),
        sa.Column("success_rate", sa.Double(), nullable=True),
        _file_key("print_file_totals"),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_print_file_totals")),
    )
    for column in ("job_count", "last_start", "filament_used", "success_rate"):
        op.create_index(op.f(f"ix_print_file_totals_{column}"), "print_file_totals", [column])
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("print_file_totals")
    op.drop_table("print_file_printers")
