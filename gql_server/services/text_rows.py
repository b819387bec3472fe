"""Rows stored once per text, however many jobs refer to them: the farm's file names
(print_files) and metadata documents (metadata_documents), each keyed by its text's
digest.

A farm prints the same few thousand files again and again, so a batch of jobs usually
finds every text stored already: one SELECT looks the texts of both tables up. Only
texts it did not find cost an upsert (nothing changes on a conflict: the text is
there) and one more SELECT. Rows go in digest order, so that two imports adding the
same texts lock them in the same order (no deadlock on MariaDB); READ COMMITTED
(db/engine.py) lets the second SELECT see a row another import added meanwhile.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, literal, select, union_all
from sqlalchemy.orm import Session

from gql_server.db.folding import fold
from gql_server.db.models import FOLDED_WIDTHS
from gql_server.db.tables import METADATA_DOCUMENTS, PRINT_FILES
from gql_server.db.types import utcnow
from gql_server.db.upsert import upsert_statement

# Digests per IN list, and per statement.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class TextTable:
    table: Table
    digest_column: str


FILES = TextTable(PRINT_FILES, "filename_digest")
DOCUMENTS = TextTable(METADATA_DOCUMENTS, "digest")

# The values of a table's new row, by its text.
NewRows = Mapping[str, dict[str, Any]]


def text_digest(text: str) -> str:
    """The unique key of a file name or a document: its exact text, whatever the
    database's collation (MariaDB's ignores case and trailing spaces)."""
    return hashlib.sha256(text.encode()).hexdigest()


def file_rows(filenames: Iterable[str]) -> NewRows:
    now = utcnow()
    return {
        name: {
            "filename": name,
            "filename_folded": fold(name, FOLDED_WIDTHS["filename_folded"]),
            "created_at": now,
        }
        for name in set(filenames)
    }


def document_rows(texts: Iterable[str | None]) -> NewRows:
    """Nothing for None: a job without metadata has no document."""
    return {text: {"document": text} for text in set(texts) if text is not None}


def write_texts(
    session: Session, wanted: Mapping[TextTable, NewRows]
) -> dict[TextTable, dict[str, int]]:
    """Every text's row id per table, adding the rows the tables lack."""
    by_digest = {
        table: {text_digest(text): text for text in rows} for table, rows in wanted.items()
    }
    ids = _ids(session, by_digest)
    missing = {
        table: {digest: text for digest, text in digests.items() if text not in ids[table]}
        for table, digests in by_digest.items()
    }
    if not any(missing.values()):
        return ids
    for table, digests in missing.items():
        _add(
            session,
            table,
            [{table.digest_column: d, **wanted[table][digests[d]]} for d in sorted(digests)],
        )
    for table, found in _ids(session, missing).items():
        ids[table].update(found)
    return ids


def _add(session: Session, table: TextTable, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = upsert_statement(
        session.get_bind().dialect,
        table.table,
        conflict_columns=(table.digest_column,),
        update_columns=(table.digest_column,),
    )
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, rows[start : start + CHUNK])


def _ids(
    session: Session, by_digest: Mapping[TextTable, Mapping[str, str]]
) -> dict[TextTable, dict[str, int]]:
    """The row id of each text the tables hold, by table and text: a UNION ALL of an
    arm per table and chunk of digests, as few statements as CHUNK allows."""
    tables = list(by_digest)
    found: dict[TextTable, dict[str, int]] = {table: {} for table in tables}
    arms: list[tuple[int, Select[Any]]] = []
    for index, table in enumerate(tables):
        column = table.table.c[table.digest_column]
        digests = sorted(by_digest[table])
        for start in range(0, len(digests), CHUNK):
            chunk = digests[start : start + CHUNK]
            arm = select(literal(index).label("kind"), column.label("digest"), table.table.c.id)
            arms.append((len(chunk), arm.where(column.in_(chunk))))
    for statement in _statements(arms):
        for kind, digest, row_id in session.execute(statement):
            table = tables[kind]
            found[table][by_digest[table][digest]] = row_id
    return found


def _statements(arms: list[tuple[int, Select[Any]]]) -> Iterable[Any]:
    """The arms joined by UNION ALL into statements of at most CHUNK digests each."""
    group: list[Select[Any]] = []
    size = 0
    for count, arm in arms:
        if group and size + count > CHUNK:
            yield group[0] if len(group) == 1 else union_all(*group)
            group, size = [], 0
        group.append(arm)
        size += count
    if group:
        yield group[0] if len(group) == 1 else union_all(*group)
