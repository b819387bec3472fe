"""print_files, metadata_documents and job_documents: texts a farm repeats stored once

The farm's distinct file names move to ``print_files`` (exact name, its SHA-256 as the
unique key, its folded copy that filenameContains searches); each job points at its
file (``print_jobs.file_id``, indexed with start_time) and loses ``filename_folded``.
It keeps ``filename``.

Metadata documents (``print_jobs.metadata``, and ``job_details.raw_metadata``, which
held the same text when the importer wrote it) move to ``metadata_documents``, one row
per distinct text, zlib-compressed, referred to by ``print_jobs.metadata_id`` and
``job_details.raw_metadata_id``. ``auxiliary_data``, one per job, moves to
``job_documents``, compressed. The downgrade writes every text back where it was.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import hashlib
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILENAME_WIDTH = 500
BATCH_ROWS = 2000
print_jobs = sa.table(
    "print_jobs",
    sa.column("id", sa.Integer),
    sa.column("filename", sa.String),
    sa.column("file_id", sa.Integer),
    sa.column("metadata", sa.Text),
    sa.column("auxiliary_data", sa.Text),
    sa.column("filename_folded", sa.String),
)
job_details = sa.table(
    "job_details",
    sa.column("id", sa.Integer),
    sa.column("print_job_id", sa.Integer),
    sa.column("raw_metadata", sa.Text),
)
print_files = sa.table(
    "print_files",
    sa.column("id", sa.Integer),
    sa.column("filename", sa.String),
    sa.column("filename_digest", sa.String),
    sa.column("filename_folded", sa.String),
    sa.column("created_at", sa.DateTime),
)
metadata_documents = sa.table(
    "metadata_documents",
    sa.column("id", sa.Integer),
    sa.column("digest", sa.String),
    sa.column("document", sa.LargeBinary),
)
job_documents = sa.table(
    "job_documents",
    sa.column("print_job_id", sa.Integer),
    sa.column("auxiliary_data", sa.LargeBinary),
)


def _folded_type() -> sa.types.TypeEngine[Any]:
    return sa.String(length=FILENAME_WIDTH).with_variant(
        mysql.VARCHAR(length=FILENAME_WIDTH, charset="utf8mb4", collation="utf8mb4_bin"),
        "mysql",
        "mariadb",
    )


def _document_type() -> sa.types.TypeEngine[Any]:
    return sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def _datetime_type() -> sa.types.TypeEngine[Any]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


# The rules of db/folding.py, services/jobs.py and db/types.py as of this revision
# (copied: a migration must not change).
def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text.casefold()).strip()[:FILENAME_WIDTH]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _nullable_digest(text: str | None) -> str | None:
    return None if text is None else _digest(text)


def _compress(text: str | None) -> bytes | None:
    return None if text is None else zlib.compress(text.encode(), 1)


def _decompress(data: bytes | None) -> str | None:
    return None if data is None else zlib.decompress(data).decode()


def _batches(query: sa.Select[Any]) -> Iterator[Sequence[Any]]:
    """``query``'s rows (its first column the id it is ordered by) a batch at a time:
    bounded memory over a million jobs."""
    connection = op.get_bind()
    id_column = query.selected_columns[0]
    last_id = 0
    while True:
        batch = connection.execute(
            query.where(id_column > last_id).order_by(id_column).limit(BATCH_ROWS)
        ).all()
        if not batch:
            return
        yield batch
        last_id = batch[-1][0]


def _sql_digest(column: str) -> str:
    """SQL for the SHA-256 of a text column, as _digest: MariaDB computes SHA2() itself;
    SQLite gets the same function from Python on this connection."""
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return f"SHA2({column}, 256)"
    driver = connection.connection.driver_connection
    driver.create_function("sha2_256", 1, _nullable_digest, deterministic=True)  # type: ignore[union-attr]
    return f"sha2_256({column})"


def upgrade() -> None:
    _create_print_files()
    _create_metadata_documents()
    _fill_by_digest(
        print_files,
        "filename_digest",
        [sa.select(print_jobs.c.id, print_jobs.c.filename)],
        lambda name: {"filename": name, "filename_folded": _fold(name), "created_at": _now()},
    )
    _fill_by_digest(
        metadata_documents,
        "digest",
        [
            sa.select(print_jobs.c.id, print_jobs.c["metadata"]),
            sa.select(job_details.c.id, job_details.c.raw_metadata),
        ],
        lambda text: {"document": _compress(text)},
    )
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("metadata_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("job_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_metadata_id", sa.Integer(), nullable=True))
    _point_at("print_jobs", "file_id", "print_files", "filename_digest", "filename")
    _point_at("print_jobs", "metadata_id", "metadata_documents", "digest", "metadata")
    _point_at("job_details", "raw_metadata_id", "metadata_documents", "digest", "raw_metadata")
    _create_job_documents()
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.alter_column("file_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_print_jobs_file_id_print_files", "print_files", ["file_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_print_jobs_metadata_id_metadata_documents",
            "metadata_documents",
            ["metadata_id"],
            ["id"],
        )
        batch_op.create_index("ix_print_jobs_file_id_start_time", ["file_id", "start_time"])
        batch_op.create_index("ix_print_jobs_metadata_id", ["metadata_id"])
        batch_op.drop_column("filename_folded")
        batch_op.drop_column("metadata")
        batch_op.drop_column("auxiliary_data")
    with op.batch_alter_table("job_details", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_job_details_raw_metadata_id_metadata_documents",
            "metadata_documents",
            ["raw_metadata_id"],
            ["id"],
        )
        batch_op.create_index("ix_job_details_raw_metadata_id", ["raw_metadata_id"])
        batch_op.drop_column("raw_metadata")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as db/types.py stores it


def _create_print_files() -> None:
    op.create_table(
        "print_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=FILENAME_WIDTH), nullable=False),
        sa.Column("filename_digest", sa.String(length=64), nullable=False),
        sa.Column("filename_folded", _folded_type(), nullable=False),
        sa.Column("created_at", _datetime_type(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_files")),
        sa.UniqueConstraint("filename_digest", name=op.f("uq_print_files_filename_digest")),
    )


def _create_metadata_documents() -> None:
    op.create_table(
        "metadata_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("document", _document_type(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_documents")),
        sa.UniqueConstraint("digest", name=op.f("uq_metadata_documents_digest")),
    )


def _fill_by_digest(
    table: sa.TableClause,
    digest_column: str,
    sources: list[sa.Select[Any]],
    values: Callable[[str], dict[str, Any]],
) -> None:
    """One row per distinct text of ``sources`` (id, text), compared exactly: in Python,
    because MariaDB's DISTINCT follows the column's collation (case ignored)."""
    seen: set[str] = set()
    for source in sources:
        for batch in _batches(source):
            new = sorted({text for _, text in batch if text is not None} - seen)
            seen.update(new)
            if new:
                rows = [{digest_column: _digest(text), **values(text)} for text in new]
                op.get_bind().execute(table.insert(), rows)


def _point_at(table: str, column: str, target: str, digest_column: str, source: str) -> None:
    """One UPDATE through the target's unique digest."""
    op.execute(
        f"UPDATE {table} SET {column} = (SELECT {target}.id FROM {target} "
        f"WHERE {target}.{digest_column} = {_sql_digest(f'{table}.{source}')})"
    )


def _create_job_documents() -> None:
    op.create_table(
        "job_documents",
        sa.Column("print_job_id", sa.Integer(), nullable=False),
        sa.Column("auxiliary_data", _document_type(), nullable=True),
        sa.ForeignKeyConstraint(
            ["print_job_id"],
            ["print_jobs.id"],
            name=op.f("fk_job_documents_print_job_id_print_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("print_job_id", name=op.f("pk_job_documents")),
    )
    for batch in _batches(sa.select(print_jobs.c.id, print_jobs.c.auxiliary_data)):
        rows = [{"print_job_id": job_id, "auxiliary_data": _compress(aux)} for job_id, aux in batch]
        op.get_bind().execute(job_documents.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table("job_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_metadata", sa.JSON(), nullable=True))
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metadata", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("auxiliary_data", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("filename_folded", _folded_type(), nullable=True))
    _restore_documents()
    op.execute(
        "UPDATE print_jobs SET filename_folded = (SELECT print_files.filename_folded "
        "FROM print_files WHERE print_files.id = print_jobs.file_id)"
    )
    op.drop_table("job_documents")
    with op.batch_alter_table("job_details", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_job_details_raw_metadata_id_metadata_documents", type_="foreignkey"
        )
        batch_op.drop_index("ix_job_details_raw_metadata_id")
        batch_op.drop_column("raw_metadata_id")
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_print_jobs_file_id_print_files", type_="foreignkey")
        batch_op.drop_constraint("fk_print_jobs_metadata_id_metadata_documents", type_="foreignkey")
        batch_op.drop_index("ix_print_jobs_file_id_start_time")
        batch_op.drop_index("ix_print_jobs_metadata_id")
        batch_op.drop_column("file_id")
        batch_op.drop_column("metadata_id")
    op.drop_table("metadata_documents")
    op.drop_table("print_files")


def _restore_documents() -> None:
    connection = op.get_bind()
    jobs = sa.table(
        "print_jobs",
        sa.column("id", sa.Integer),
        sa.column("metadata_id", sa.Integer),
        sa.column("metadata", sa.Text),
        sa.column("auxiliary_data", sa.Text),
    )
    details = sa.table(
        "job_details",
        sa.column("id", sa.Integer),
        sa.column("raw_metadata_id", sa.Integer),
        sa.column("raw_metadata", sa.Text),
    )
    jobs_query = sa.select(
        jobs.c.id, metadata_documents.c.document, job_documents.c.auxiliary_data
    ).select_from(
        jobs.outerjoin(metadata_documents, metadata_documents.c.id == jobs.c.metadata_id).outerjoin(
            job_documents, job_documents.c.print_job_id == jobs.c.id
        )
    )
    jobs_update = (
        jobs.update()
        .where(jobs.c.id == sa.bindparam("row_id"))
        .values(metadata=sa.bindparam("new_metadata"), auxiliary_data=sa.bindparam("new_aux"))
    )
    for batch in _batches(jobs_query):
        connection.execute(jobs_update, [
            {"row_id": row_id, "new_metadata": _decompress(doc), "new_aux": _decompress(aux)}
            for row_id, doc, aux in batch
        ])  # fmt: skip
    details_query = sa.select(details.c.id, metadata_documents.c.document).select_from(
        details.join(metadata_documents, metadata_documents.c.id == details.c.raw_metadata_id)
    )
    details_update = (
        details.update()
        .where(details.c.id == sa.bindparam("row_id"))
        .values(raw_metadata=sa.bindparam("new_raw"))
    )
    for batch in _batches(details_query):
        connection.execute(
            details_update,
            [{"row_id": row_id, "new_raw": _decompress(doc)} for row_id, doc in batch],
        )
