"""Job details: Moonraker's file metadata mapped to columns, slicer settings read from the
gcode's tail, each file version fetched once per sync."""

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from gql_server.db.models import JobDetails, PrintJob
from gql_server.db.session import Database
from gql_server.services.job_queries import fetch_details_by_id
from gql_server.services.sync import Syncer, SyncOptions
from tests.support.fake_moonraker import GCODES as GCODE_FIXTURES
from tests.support.fake_moonraker import PRINT_KEYS, FakeMoonraker, sample_file_metadata
from tests.sync.conftest import FAST, gcode_requests, run_sync

SAMPLES = sample_file_metadata()  # the five recorded files: four slicers and an unknown one
EXPECTED_SETTINGS: dict[str, dict[str, Any]] = json.loads(
    (GCODE_FIXTURES / "expected.json").read_text(encoding="utf-8")
)
SETTINGS = ("infill_percentage", "infill_pattern", "support_enabled", "support_type", "print_speed")
BENCHY = "3DBenchy_0.15mm_PLA_1h22m.gcode"


@pytest.fixture
def sync_options() -> SyncOptions:
    return replace(FAST, page_size=10)  # 30 jobs of one file span three pages


def job_metadata(filename: str) -> dict[str, Any]:
    """What a job records of its file: the file's metadata without the last print's keys."""
    return {key: value for key, value in SAMPLES[filename].items() if key not in PRINT_KEYS}


def expected_details(filename: str) -> dict[str, Any]:
    """The columns as the README describes Moonraker's metadata keys, read off the sample."""
    sample = SAMPLES[filename]
    colors = sample.get("filament_colors")
    estimate = sample.get("estimated_time")
    return {
        "layer_height": sample.get("layer_height"),
        "first_layer_height": sample.get("first_layer_height"),
        "nozzle_temp": round(sample["first_layer_extr_temp"]),
        "bed_temp": round(sample["first_layer_bed_temp"]),
        "filament_type": sample.get("filament_type"),
        "filament_brand": sample.get("filament_name"),
        "filament_color": ";".join(colors) if colors else None,
        "estimated_time": None if estimate is None else round(estimate),
        "estimated_filament": sample.get("filament_weight_total"),
        "layer_count": sample.get("layer_count"),
        "object_height": sample.get("object_height"),
        "raw_metadata": job_metadata(filename),
    }


def details_by_filename(database: Database, printer_id: int) -> dict[str, Any]:
    """Each job's details as the API reads them (rawMetadata from job_documents)."""
    query = (
        select(PrintJob.filename, JobDetails.id)
        .join(JobDetails, JobDetails.print_job_id == PrintJob.id)
        .where(PrintJob.printer_id == printer_id)
    )
    with database.scope() as session:
        return {
            filename: fetch_details_by_id(session, details_id)
            for filename, details_id in session.execute(query).all()
        }


def columns(details: Any, names: Any) -> dict[str, Any]:
    return {name: getattr(details, name) for name in names}


@pytest.fixture
def one_job_per_sample(fake: FakeMoonraker) -> FakeMoonraker:
    fake.add_sample_files()
    for filename in SAMPLES:
        fake.add_job(filename=filename)  # metadata from the file, which still exists
    return fake


@pytest.mark.parametrize("filename", list(SAMPLES))
def test_mapped_columns_equal_the_values_of_the_slicer_sample(
    database: Database,
    syncer: Syncer,
    one_job_per_sample: FakeMoonraker,
    printer_id: int,
    filename: str,
) -> None:
    run_sync(syncer, printer_id)
    details = details_by_filename(database, printer_id)[filename]
    expected = expected_details(filename)
    assert columns(details, expected) == expected


@pytest.mark.parametrize("filename", list(EXPECTED_SETTINGS))
def test_gcode_tail_gives_the_slicers_infill_pattern_supports_and_speed(
    database: Database,
    syncer: Syncer,
    one_job_per_sample: FakeMoonraker,
    printer_id: int,
    filename: str,
) -> None:
    run_sync(syncer, printer_id)
    details = details_by_filename(database, printer_id)[filename]
    assert columns(details, SETTINGS) == EXPECTED_SETTINGS[filename]


def test_file_used_by_thirty_jobs_is_fetched_once(
    syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_sample_files()
    for _ in range(30):
        fake.add_job(filename=BENCHY)
    result = run_sync(syncer, printer_id)
    assert (result.ok, result.counts.details_extracted) == (True, 30)
    assert gcode_requests(fake) == [f"/server/files/gcodes/{BENCHY}"]


def test_every_job_of_a_shared_file_gets_its_settings(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_sample_files()
    for _ in range(30):
        fake.add_job(filename=BENCHY)
    run_sync(syncer, printer_id)
    query = select(JobDetails.infill_percentage).join(PrintJob)
    with database.scope() as session:
        infills = list(session.scalars(query.where(PrintJob.printer_id == printer_id)))
    assert infills == [EXPECTED_SETTINGS[BENCHY]["infill_percentage"]] * 30


def test_second_sync_fetches_no_gcode_for_jobs_it_already_holds(
    syncer: Syncer, one_job_per_sample: FakeMoonraker, printer_id: int
) -> None:
    run_sync(syncer, printer_id)
    one_job_per_sample.clear_requests()
    run_sync(syncer, printer_id, full=True)
    assert gcode_requests(one_job_per_sample) == []


def test_job_whose_file_was_resliced_keeps_its_metadata_but_reads_no_gcode(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    # The gcode on disk is no longer what the job printed (Moonraker's exists is false).
    fake.add_sample_files()
    fake.add_job(filename=BENCHY)
    fake.touch_file(BENCHY, modified=SAMPLES[BENCHY]["modified"] + 86400)
    run_sync(syncer, printer_id)
    details = details_by_filename(database, printer_id)[BENCHY]
    assert (details.layer_height, details.infill_percentage) == (0.15, None)
    assert gcode_requests(fake) == []
