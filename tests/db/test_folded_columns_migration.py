"""Migration 0006 fills the folded text columns and the totals counted Moonraker's way
for rows stored before it, so filters and moonrakerDifference work before any import."""

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.db.conftest import AtRevision, all_rows, migrate

BEFORE = "0005"
NOW = "2026-01-01 00:00:00"
# (job id, user, filename, status, total duration, metadata)
JOBS: tuple[tuple[str, str | None, str, str, float | None, Any], ...] = (
    ("000001", "ALICE", "Straße.gcode", "completed", 100.0, {"slicer": "OrcaSlicer"}),
    ("000002", "Élodie", "Vase.gcode", "cancelled", 50.0, {"slicer": 3}),
    ("000003", None, "b.gcode", "in_progress", None, None),
    ("000004", "bob", "c.gcode", "interrupted", 70.0, {}),
    ("000005", "bob", "d.gcode", "server_exit", 20.0, {"slicer": "Cura"}),
)


def add_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO printers (id, name, location, moonraker_url, is_active, "
                "created_at, updated_at) VALUES (1, 'Lüfter', 'KÜCHE', 'http://p', 1, :now, :now)"
            ),
            {"now": NOW},
        )
        for index, (job_id, user, filename, status, duration, metadata) in enumerate(JOBS):
            connection.execute(
                text(
                    "INSERT INTO print_jobs (id, printer_id, job_id, user, filename, status, "
                    "start_time, total_duration, print_duration, filament_used, metadata, "
                    "created_at, updated_at) VALUES (:id, 1, :job_id, :user, :filename, "
                    ":status, :now, :duration, :duration, 10.0, :metadata, :now, :now)"
                ),
                {
                    "id": index + 1,
                    "job_id": job_id,
                    "user": user,
                    "filename": filename,
                    "status": status,
                    "duration": duration,
                    "metadata": None if metadata is None else json.dumps(metadata),
                    "now": NOW,
                },
            )
        connection.execute(
            text(
                "INSERT INTO job_details (print_job_id, filament_type, created_at, updated_at) "
                "VALUES (1, 'PLA', :now, :now)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO job_totals (printer_id, total_jobs, total_time, total_print_time, "
                "total_filament_used, longest_job, last_updated) "
                "VALUES (1, 1, 100.0, 100.0, 10.0, 100.0, :now)"
            ),
            {"now": NOW},
        )


@pytest.fixture
def migrated(at_revision: AtRevision) -> Engine:
    """A database holding rows written at 0005, then upgraded to 0006."""
    engine = at_revision(BEFORE)
    add_rows(engine)
    migrate(engine, "upgrade", "0006")
    return engine


def test_upgrade_folds_the_texts_already_stored(migrated: Engine) -> None:
    query = "SELECT user_folded, filename_folded, slicer_folded FROM print_jobs ORDER BY id"
    jobs = all_rows(migrated, query)
    assert jobs == [
        ("alice", "strasse.gcode", "orcaslicer"),
        ("élodie", "vase.gcode", None),
        (None, "b.gcode", None),
        ("bob", "c.gcode", None),
        ("bob", "d.gcode", "cura"),
    ]
    assert all_rows(migrated, "SELECT name_folded, location_folded FROM printers") == [
        ("lüfter", "küche")
    ]
    assert all_rows(migrated, "SELECT filament_type_folded FROM job_details") == [("pla",)]


def test_upgrade_counts_the_stored_jobs_moonrakers_way(migrated: Engine) -> None:
    # completed, cancelled and server_exit count; in_progress and interrupted do not
    totals = all_rows(
        migrated,
        "SELECT finished_jobs, finished_time, finished_print_time, finished_filament_used, "
        "longest_finished_job FROM job_totals",
    )
    assert totals == [(3, 170.0, 170.0, 30.0, 100.0)]
