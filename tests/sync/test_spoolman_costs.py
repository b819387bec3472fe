"""A job's Spoolman spool prices its filament: quoted at import from a fake Spoolman
over real HTTP, stored with the job, and the filament type's price when Spoolman does
not know the spool or does not answer."""

import dataclasses
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from gql_server.db.models import JobCost, PrintJob
from gql_server.db.session import Database
from gql_server.services import prices
from gql_server.services.prices import NewFilamentPrice
from gql_server.services.sync import Syncer, SyncOptions
from tests.factories import TEST_BOX
from tests.support.fake_moonraker import FakeMoonraker
from tests.support.fake_spoolman import FakeSpoolman, FakeSpoolmanServer
from tests.sync.conftest import FAST, run_sync

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC).timestamp()
PLA_PER_KG = 20.0
LENGTH = 2500.0  # mm of each job


@pytest.fixture(scope="module")
def spoolman_server() -> Iterator[FakeSpoolmanServer]:
    with FakeSpoolmanServer() as server:
        yield server


@pytest.fixture
def spoolman(spoolman_server: FakeSpoolmanServer) -> FakeSpoolman:
    fake = spoolman_server.spoolman
    fake.spools.clear()
    fake.requests.clear()
    fake.currency, fake.down = None, False
    return fake


@pytest.fixture
def sync_options(spoolman_server: FakeSpoolmanServer) -> SyncOptions:
    return dataclasses.replace(FAST, spoolman_url=spoolman_server.url, currency="EUR")


def spool_aux(*spool_ids: int) -> list[dict[str, Any]]:
    """auxiliary_data as Moonraker's spoolman component writes it."""
    return [
        {"provider": "spoolman", "name": "spool_ids", "value": list(spool_ids),
         "description": "Spool IDs used", "units": None},
    ]  # fmt: skip


def add_job(fake: FakeMoonraker, index: int, *spool_ids: int) -> None:
    fake.add_job(
        filename=f"part_{index}.gcode",
        start_time=START + index * 7200,
        total_duration=3600.0,
        filament_used=LENGTH,
        metadata={"slicer": "PrusaSlicer", "filament_type": "PLA"},
        auxiliary_data=spool_aux(*spool_ids),
    )


def price_pla(database: Database) -> None:
    """PLA's price, in force well before the jobs."""
    with database.scope() as session:
        new = NewFilamentPrice("PLA", PLA_PER_KG, "EUR", 1.24, 1.75)
        at = datetime(2026, 1, 1, tzinfo=UTC)
        prices.set_filament_price(session, new, farm_currency="EUR", now=at)


def costs(database: Database, printer_id: int) -> dict[str, JobCost]:
    with database.scope() as session:
        query = (
            select(PrintJob.filename, JobCost)
            .join(JobCost, JobCost.print_job_id == PrintJob.id)
            .where(PrintJob.printer_id == printer_id)
        )
        return {name: cost for name, cost in session.execute(query)}


def cost_of(length: float, price_per_kg: float, density: float, diameter: float) -> float:
    grams = length * math.pi * (diameter / 2) ** 2 / 1000 * density
    return grams / 1000 * price_per_kg


def test_a_known_spool_prices_the_job_with_its_own_price_and_density(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    price_pla(database)
    spoolman.add_spool(7, price=24.0, initial_weight=750.0, density=1.27, diameter=1.75)
    add_job(fake, 1, 7)
    assert run_sync(syncer, printer_id).ok
    cost = costs(database, printer_id)["part_1.gcode"]
    assert (cost.filament_price_source, cost.spool_id, cost.spool_status) == ("SPOOL", 7, "FOUND")
    expected = cost_of(LENGTH, 24.0 / 750.0 * 1000, 1.27, 1.75)
    assert math.isclose(cost.filament_cost or 0.0, expected, rel_tol=1e-12)


def test_a_spool_without_a_price_of_its_own_takes_its_filaments(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    spoolman.add_spool(
        3, price=None, initial_weight=None, filament_price=30.0, filament_weight=1000.0
    )
    add_job(fake, 1, 3)
    assert run_sync(syncer, printer_id).ok
    cost = costs(database, printer_id)["part_1.gcode"]
    assert cost.currency == "EUR"  # no filament type price: the farm's, as Spoolman's
    assert math.isclose(cost.filament_cost or 0.0, cost_of(LENGTH, 30.0, 1.24, 1.75), rel_tol=1e-12)


def test_a_spool_spoolman_does_not_know_falls_back_to_the_filament_type_price(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    price_pla(database)
    add_job(fake, 1, 404)
    assert run_sync(syncer, printer_id).ok
    cost = costs(database, printer_id)["part_1.gcode"]
    assert (cost.filament_price_source, cost.spool_id, cost.spool_status) == (
        "FILAMENT_TYPE",
        404,
        "NOT_FOUND",
    )
    assert math.isclose(
        cost.filament_cost or 0.0, cost_of(LENGTH, PLA_PER_KG, 1.24, 1.75), rel_tol=1e-12
    )
    assert "/api/v1/spool/404" in spoolman.requests


def test_an_import_succeeds_while_spoolman_is_down(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    price_pla(database)
    spoolman.down = True
    add_job(fake, 1, 7)
    add_job(fake, 2, 7)
    result = run_sync(syncer, printer_id)
    assert (result.ok, result.counts.jobs_created) == (True, 2)
    stored = costs(database, printer_id)
    assert {(c.filament_price_source, c.spool_status) for c in stored.values()} == {
        ("FILAMENT_TYPE", "UNAVAILABLE")
    }


def test_an_unreachable_spoolman_does_not_fail_the_import(
    database: Database, fake: FakeMoonraker, printer_id: int
) -> None:
    options = dataclasses.replace(FAST, spoolman_url="http://127.0.0.1:9", currency="EUR")
    add_job(fake, 1, 7)
    result = run_sync(Syncer(database, options, secret_box=TEST_BOX), printer_id)
    assert result.ok
    assert costs(database, printer_id)["part_1.gcode"].spool_status == "UNAVAILABLE"


def test_each_spool_is_asked_for_once_per_import(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    spoolman.add_spool(7, price=24.0)
    for index in range(1, 6):
        add_job(fake, index, 7)
    assert run_sync(syncer, printer_id).ok
    assert spoolman.requests.count("/api/v1/spool/7") == 1


def test_spoolman_pricing_in_another_currency_is_not_used(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    price_pla(database)
    spoolman.currency = "USD"
    spoolman.add_spool(7, price=24.0)
    add_job(fake, 1, 7)
    assert run_sync(syncer, printer_id).ok
    cost = costs(database, printer_id)["part_1.gcode"]
    assert (cost.filament_price_source, cost.spool_status) == ("FILAMENT_TYPE", "CURRENCY_MISMATCH")


def test_a_job_on_several_spools_takes_the_filament_type_price(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    price_pla(database)
    spoolman.add_spool(7, price=24.0)
    spoolman.add_spool(8, price=50.0)
    add_job(fake, 1, 7, 8)
    assert run_sync(syncer, printer_id).ok
    cost = costs(database, printer_id)["part_1.gcode"]
    assert (cost.filament_price_source, cost.spool_status) == ("FILAMENT_TYPE", "SEVERAL")


def test_the_spool_price_a_job_was_imported_with_stays(
    database: Database, syncer: Syncer, fake: FakeMoonraker, spoolman: FakeSpoolman, printer_id: int
) -> None:
    spoolman.add_spool(7, price=24.0)
    fake.add_job(
        filename="long.gcode",
        status="in_progress",
        start_time=START,
        metadata={"slicer": "PrusaSlicer", "filament_type": "PLA"},
        auxiliary_data=spool_aux(7),
    )
    assert run_sync(syncer, printer_id).ok
    spoolman.add_spool(7, price=99.0)  # repriced in Spoolman while the job prints
    job_id = fake.jobs[-1]["job_id"]
    fake.finish_job(job_id, filament_used=LENGTH, auxiliary_data=spool_aux(7))
    assert run_sync(syncer, printer_id).ok
    cost = costs(database, printer_id)["long.gcode"]
    assert math.isclose(cost.filament_cost or 0.0, cost_of(LENGTH, 24.0, 1.24, 1.75), rel_tol=1e-12)
