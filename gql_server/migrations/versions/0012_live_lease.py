"""live lease: which server process holds each printer's Moonraker websocket

The same pair of columns as the sync lease (0003), taken and renewed by the same
conditional UPDATE (services/sync/lease.py), so that ``serve --workers N`` opens one
socket per printer across all its processes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gql_server.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("live_lease_until", gql_server.db.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("live_lease_owner", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.drop_column("live_lease_owner")
        batch_op.drop_column("live_lease_until")
