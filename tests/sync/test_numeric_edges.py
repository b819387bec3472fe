"""Numbers at their edges, through a whole sync: Moonraker's NaN and Infinity (Python's
json reads them, JSON has no such numbers) are stored as null, and 0 % and 100 % infill are
settings of their own, not missing ones."""

import math
import time
from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.support.fake_moonraker import FakeMoonraker
from tests.sync.conftest import run_sync, stored_job
from tests.sync.test_details import details_by_filename

NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def prusa_file(filename: str, *, infill: str = "15%", **metadata: Any) -> dict[str, Any]:
    """File metadata of a PrusaSlicer gcode, with ``metadata`` over plausible values."""
    return {
        "size": 4096,
        "modified": round(time.time(), 6),
        "slicer": "PrusaSlicer",
        "slicer_version": "2.8.1",
        "layer_height": 0.2,
        "first_layer_height": 0.2,
        "first_layer_extr_temp": 215.0,
        "first_layer_bed_temp": 60.0,
        "estimated_time": 3600,
        "filament_weight_total": 12.5,
        "layer_count": 100,
        "object_height": 20.0,
        "filename": filename,
        **metadata,
    }


def prusa_gcode(infill: str) -> bytes:
    return (
        "G1 X0 Y0\n; prusaslicer_config = begin\n"
        f"; fill_density = {infill}\n; fill_pattern = gyroid\n"
        "; perimeter_speed = 45\n; support_material = 0\n; prusaslicer_config = end\n"
    ).encode()


def add_print(fake: FakeMoonraker, filename: str, infill: str, **metadata: Any) -> str:
    fake.add_file(filename, metadata=prusa_file(filename, **metadata), gcode=prusa_gcode(infill))
    return fake.add_job(filename=filename)["job_id"]


@pytest.mark.parametrize("value", NON_FINITE.values(), ids=NON_FINITE.keys())
def test_non_finite_job_numbers_are_stored_as_null(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int, value: float
) -> None:
    fake.add_job(print_duration=value, total_duration=value, filament_used=value)
    assert run_sync(syncer, printer_id).ok
    (job_id,) = [job["job_id"] for job in fake.jobs]
    job = stored_job(database, printer_id, job_id)
    assert (job.print_duration, job.total_duration, job.filament_used) == (None, None, None)


@pytest.mark.parametrize("value", NON_FINITE.values(), ids=NON_FINITE.keys())
def test_non_finite_metadata_numbers_are_stored_as_null(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int, value: float
) -> None:
    numbers = ("layer_height", "first_layer_extr_temp", "filament_weight_total", "layer_count")
    add_print(fake, "odd.gcode", "15%", **dict.fromkeys(numbers, value))
    assert run_sync(syncer, printer_id).ok
    details = details_by_filename(database, printer_id)["odd.gcode"]
    stored = (details.layer_height, details.nozzle_temp, details.estimated_filament)
    assert (stored, details.layer_count) == ((None, None, None), None)
    assert details.raw_metadata["layer_height"] is None  # JSON null, not NaN


@pytest.mark.parametrize("percent", [0, 100])
def test_infill_of_0_and_100_percent_is_stored(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int, percent: int
) -> None:
    add_print(fake, f"infill{percent}.gcode", f"{percent}%")
    assert run_sync(syncer, printer_id).ok
    details = details_by_filename(database, printer_id)[f"infill{percent}.gcode"]
    assert (details.infill_percentage, details.infill_pattern) == (percent, "gyroid")


@pytest.mark.parametrize("infill", ["nan%", "inf%", "-inf%", "101%", "-1%"])
def test_an_infill_no_slicer_writes_is_stored_as_unknown(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int, infill: str
) -> None:
    add_print(fake, "odd.gcode", infill)
    assert run_sync(syncer, printer_id).ok
    details = details_by_filename(database, printer_id)["odd.gcode"]
    assert (details.infill_percentage, details.print_speed) == (None, 45)
