"""Migration 0009 moves file names to print_files and the JSON documents to job_documents:
the API reads back every value it read before, and the downgrade puts every stored text
back where it was."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from gql_server.services.job_queries import JobFilter, count_jobs, fetch_jobs_by_ids
from tests.conftest import MYSQL_URL, drop_mysql_database, recreate_mysql_database, require_mysql
from tests.db.test_folded_columns_migration import migrate

BEFORE = "0007"
NOW = "2026-01-01 00:00:00"
LARGE = json.dumps({"thumbnails": [{"path": f"ü/{n}.png", "size": n} for n in range(5000)]})
# (filename, metadata text, auxiliary data text, details: None or (raw_metadata text,))
# Texts as an older release may have stored them: spaces after separators included.
JOBS: tuple[tuple[str, str | None, str | None, tuple[str | None] | None], ...] = (
    ("Straße.gcode", '{"slicer":"PrusaSlicer","name":"Würfel 日本語 🚀"}', "[1,2]",
     ('{"slicer":"PrusaSlicer","name":"Würfel 日本語 🚀"}',)),  # the importer's copy
    ("straße.gcode", None, None, None),  # folds like the first, another file
    ("Straße.gcode ", LARGE, '[{"provider": "spoolman"}]', ('{"slicer": "Cura"}',)),
    ("STRASSE.gcode", '{"a": 1}', None, ('{"a":1}',)),  # same value, another text
    ("Straße.gcode", '{"b":2.50}', "[]", (None,)),  # details without a document
)  # fmt: skip


def add_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO printers (id, name, name_folded, moonraker_url, is_active, "
                "created_at, updated_at) VALUES (1, 'p', 'p', 'http://p', 1, :now, :now)"
            ),
            {"now": NOW},
        )
        for job_id, (filename, metadata, auxiliary, details) in enumerate(JOBS, start=1):
            connection.execute(
                text(
                    "INSERT INTO print_jobs (id, printer_id, job_id, filename, filename_folded, "
                    "status, start_time, metadata, auxiliary_data, created_at, updated_at) "
                    "VALUES (:id, 1, :id, :filename, :folded, 'completed', :now, :metadata, "
                    ":aux, :now, :now)"
                ),
                {
                    "id": job_id,
                    "filename": filename,
                    "folded": filename.casefold().strip(),
                    "metadata": metadata,
                    "aux": auxiliary,
                    "now": NOW,
                },
            )
            if details is not None:
                connection.execute(
                    text(
                        "INSERT INTO job_details (print_job_id, layer_height, raw_metadata, "
                        "created_at, updated_at) VALUES (:id, 0.2, :raw, :now, :now)"
                    ),
                    {"id": job_id, "raw": details[0], "now": NOW},
                )


def _all(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


STORED = (
    "SELECT j.id, j.filename, j.filename_folded, j.metadata, j.auxiliary_data, d.raw_metadata "
    "FROM print_jobs j LEFT JOIN job_details d ON d.print_job_id = j.id ORDER BY j.id"
)


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def legacy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database holding rows written at 0007."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    else:
        require_mysql(MYSQL_URL)
        url = MYSQL_URL + "_documents_migration"
        recreate_mysql_database(url)
    engine = create_db_engine(url)
    try:
        migrate(engine, "upgrade", BEFORE)
        add_rows(engine)
        yield engine
    finally:
        engine.dispose()
        if request.param == "mariadb":
            drop_mysql_database(url)


def _loaded(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def test_upgrade_keeps_every_value_the_api_reads(legacy: Engine) -> None:
    migrate(legacy, "upgrade", "head")
    with Database(legacy).scope() as session:
        jobs = fetch_jobs_by_ids(session, list(range(1, len(JOBS) + 1)))
        read = [
            (
                jobs[n].filename,
                jobs[n].job_metadata,
                jobs[n].auxiliary_data,
                jobs[n].details_id is not None,
                jobs[n].details_raw_metadata,
            )
            for n in sorted(jobs)
        ]
    expected = [
        (
            name,
            _loaded(metadata),
            _loaded(aux),
            details is not None,
            _loaded(details and details[0]),
        )
        for name, metadata, aux, details in JOBS
    ]
    assert read == expected


def test_upgrade_keeps_each_exact_name_once_and_its_search(legacy: Engine) -> None:
    migrate(legacy, "upgrade", "head")
    files = _all(legacy, "SELECT filename FROM print_files")
    assert sorted(name for (name,) in files) == sorted({name for name, *_ in JOBS})
    with Database(legacy).scope() as session:
        counts = [
            count_jobs(session, JobFilter(filename_contains=term)) for term in ("SSE.G", "ß ")
        ]
    assert counts == [5, 0]


def test_each_metadata_text_is_stored_once(legacy: Engine) -> None:
    migrate(legacy, "upgrade", "head")
    texts = {text for _, metadata, _, details in JOBS for text in (metadata, *(details or ()))}
    assert _all(legacy, "SELECT COUNT(*) FROM metadata_documents") == [(len(texts - {None}),)]
    # The importer's copy in the details is the job's own document.
    shared = (
        "SELECT j.metadata_id = d.raw_metadata_id FROM print_jobs j "
        "JOIN job_details d ON d.print_job_id = j.id WHERE j.id = 1"
    )
    assert _all(legacy, shared) == [(1,)]


def test_downgrade_puts_every_text_back(legacy: Engine) -> None:
    before = _all(legacy, STORED)
    migrate(legacy, "upgrade", "head")
    migrate(legacy, "downgrade", BEFORE)
    assert _all(legacy, STORED) == before
