"""printer names unique, and sorted, by their folded form

Printer names were unique by the database's own comparison: MariaDB's utf8mb4_unicode_ci
refused "Jose" beside "José" and "ÉCOLE" beside "école", SQLite accepted both. Now the
unique index is on ``name_folded`` (db/folding.py's rule, compared byte for byte), the
same on every database, and ``name_folded`` is NOT NULL so that printers can be sorted
by it (by name, MariaDB's collation and SQLite's bytes gave two different orders).

A SQLite database may already hold names that fold alike ("Voron" and "voron"). The
upgrade keeps the oldest printer's name and appends `` #<id>`` to the others (`` #<id>-2``
if that is taken too), logging each rename, so no printer or job is lost and the unique
index can be built.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import logging
import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_WIDTH = 100
log = logging.getLogger("alembic.runtime.migration")
printers = sa.table(
    "printers",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_folded", sa.String),
)


def _fold(text: str) -> str:
    """db/folding.py's rule as of this revision (copied: a migration must not change)."""
    return unicodedata.normalize("NFC", text.casefold()).strip()[:NAME_WIDTH]


def _renamed(name: str, mark: str) -> str:
    return f"{name.strip()[: NAME_WIDTH - len(mark) - 1]} {mark}"


def _folded_type() -> sa.types.TypeEngine[Any]:
    return sa.String(length=NAME_WIDTH).with_variant(
        mysql.VARCHAR(length=NAME_WIDTH, charset="utf8mb4", collation="utf8mb4_bin"),
        "mysql",
        "mariadb",
    )


def _rename_names_that_fold_alike() -> None:
    """Also writes every folded name that is missing or stale, so none is NULL."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(printers.c.id, printers.c.name, printers.c.name_folded).order_by("id")
    ).all()
    taken = {_fold(name) for _, name, _ in rows}
    seen: set[str] = set()
    for printer_id, name, stored in rows:
        folded = _fold(name)
        if folded not in seen:
            seen.add(folded)
            if stored != folded:
                connection.execute(
                    printers.update().where(printers.c.id == printer_id).values(name_folded=folded)
                )
            continue
        new_name, attempt = _renamed(name, f"#{printer_id}"), 1
        while _fold(new_name) in taken:
            attempt += 1
            new_name = _renamed(name, f"#{printer_id}-{attempt}")
        taken.add(_fold(new_name))
        seen.add(_fold(new_name))
        log.warning("printer %d renamed from %r to %r: names must differ by more than case",
                    printer_id, name, new_name)  # fmt: skip
        connection.execute(
            printers.update()
            .where(printers.c.id == printer_id)
            .values(name=new_name, name_folded=_fold(new_name))
        )


def upgrade() -> None:
    _rename_names_that_fold_alike()
    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_printers_name"), type_="unique")
        batch_op.alter_column("name_folded", existing_type=_folded_type(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_printers_name_folded"), ["name_folded"])


def downgrade() -> None:
    """Fails on MariaDB if two names now differ only by accents ("José", "Jose"), which
    its collation counts as one: rename one of them first."""
    with op.batch_alter_table("printers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_printers_name_folded"), type_="unique")
        batch_op.alter_column("name_folded", existing_type=_folded_type(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_printers_name"), ["name"])
