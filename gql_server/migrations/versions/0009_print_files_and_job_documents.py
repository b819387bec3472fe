"""print_files and job_documents: file names once, JSON documents apart and stored once

The farm's distinct file names move to ``print_files`` (exact name, its SHA-256 as the
unique key, its folded copy that filenameContains searches); each job points at its
file (``print_jobs.file_id``, indexed with start_time) and loses ``filename_folded``.
It keeps ``filename``.

The jobs' JSON documents move to ``job_documents``, zlib-compressed: ``metadata`` and
``auxiliary_data`` from print_jobs, and the details' ``raw_metadata`` from job_details,
which held the same text as the job's metadata when the importer wrote it. Such a copy
becomes ``details_share_metadata`` true; any other value (null included) is kept in
``job_documents.raw_metadata``. The downgrade writes every value back where it was.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-26
"""

import hashlib
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0009"
down_revision: str | None = "0007"
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
job_documents = sa.table(
    "job_documents",
    sa.column("print_job_id", sa.Integer),
    sa.column("metadata", sa.LargeBinary),
    sa.column("auxiliary_data", sa.LargeBinary),
    sa.column("details_share_metadata", sa.Boolean),
    sa.column("raw_metadata", sa.LargeBinary),
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


def _digest(filename: str) -> str:
    return hashlib.sha256(filename.encode()).hexdigest()


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


def upgrade() -> None:
    _create_print_files()
    _fill_print_files()
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_id", sa.Integer(), nullable=True))
    _point_jobs_at_their_files()
    _create_job_documents()
    _fill_job_documents()
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.alter_column("file_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_print_jobs_file_id_print_files", "print_files", ["file_id"], ["id"]
        )
        batch_op.create_index("ix_print_jobs_file_id_start_time", ["file_id", "start_time"])
        batch_op.drop_column("filename_folded")
        batch_op.drop_column("metadata")
        batch_op.drop_column("auxiliary_data")
    with op.batch_alter_table("job_details", schema=None) as batch_op:
        batch_op.drop_column("raw_metadata")


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


def _fill_print_files() -> None:
    """Every distinct name, compared exactly: in Python, because MariaDB's DISTINCT
    follows the column's collation (case and trailing spaces ignored)."""
    seen: set[str] = set()
    now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as db/types.py stores it
    for batch in _batches(sa.select(print_jobs.c.id, print_jobs.c.filename)):
        new = sorted({filename for _, filename in batch} - seen)
        seen.update(new)
        if new:
            op.get_bind().execute(
                print_files.insert().values(created_at=now),
                [
                    {
                        "filename": name,
                        "filename_digest": _digest(name),
                        "filename_folded": _fold(name),
                    }
                    for name in new
                ],
            )


def _point_jobs_at_their_files() -> None:
    """One UPDATE through the unique digest: MariaDB computes SHA2() itself; SQLite
    gets the same function from Python for this connection."""
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        driver.create_function("sha2_256", 1, _digest, deterministic=True)  # type: ignore[union-attr]
        digest = "sha2_256(print_jobs.filename)"
    else:
        digest = "SHA2(print_jobs.filename, 256)"
    op.execute(
        "UPDATE print_jobs SET file_id = (SELECT print_files.id FROM print_files "
        f"WHERE print_files.filename_digest = {digest})"
    )


def _create_job_documents() -> None:
    op.create_table(
        "job_documents",
        sa.Column("print_job_id", sa.Integer(), nullable=False),
        sa.Column("metadata", _document_type(), nullable=True),
        sa.Column("auxiliary_data", _document_type(), nullable=True),
        sa.Column(
            "details_share_metadata", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("raw_metadata", _document_type(), nullable=True),
        sa.ForeignKeyConstraint(
            ["print_job_id"],
            ["print_jobs.id"],
            name=op.f("fk_job_documents_print_job_id_print_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("print_job_id", name=op.f("pk_job_documents")),
    )


def _fill_job_documents() -> None:
    """Texts compared as stored: a details copy equal to the job's metadata text is
    shared; anything else is kept as the details' own document."""
    query = sa.select(
        print_jobs.c.id,
        print_jobs.c["metadata"],
        print_jobs.c.auxiliary_data,
        job_details.c.id.label("details_id"),
        job_details.c.raw_metadata,
    ).select_from(print_jobs.outerjoin(job_details, job_details.c.print_job_id == print_jobs.c.id))
    for batch in _batches(query):
        rows = []
        for job_id, metadata, auxiliary, details_id, raw in batch:
            shared = details_id is not None and raw is not None and raw == metadata
            rows.append({
                "print_job_id": job_id,
                "metadata": _compress(metadata),
                "auxiliary_data": _compress(auxiliary),
                "details_share_metadata": shared,
                "raw_metadata": None if shared else _compress(raw),
            })  # fmt: skip
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
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_print_jobs_file_id_print_files", type_="foreignkey")
        batch_op.drop_index("ix_print_jobs_file_id_start_time")
        batch_op.drop_column("file_id")
    op.drop_table("print_files")


def _restore_documents() -> None:
    connection = op.get_bind()
    jobs_update = (
        print_jobs.update()
        .where(print_jobs.c.id == sa.bindparam("job_id"))
        .values(metadata=sa.bindparam("new_metadata"), auxiliary_data=sa.bindparam("new_aux"))
    )
    details_update = (
        job_details.update()
        .where(job_details.c.print_job_id == sa.bindparam("job_id"))
        .values(raw_metadata=sa.bindparam("new_raw"))
    )
    query = sa.select(
        job_documents.c.print_job_id,
        job_documents.c["metadata"],
        job_documents.c.auxiliary_data,
        job_documents.c.details_share_metadata,
        job_documents.c.raw_metadata,
    )
    for batch in _batches(query):
        jobs, details = [], []
        for job_id, metadata, auxiliary, shared, raw in batch:
            text = _decompress(metadata)
            jobs.append({"job_id": job_id, "new_metadata": text, "new_aux": _decompress(auxiliary)})
            details.append({"job_id": job_id, "new_raw": text if shared else _decompress(raw)})
        connection.execute(jobs_update, jobs)
        connection.execute(details_update, details)
