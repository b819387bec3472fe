"""Live mode prices a job's Spoolman spool as a sync does: the job a notification
writes has the spool's quote, from a fake Spoolman over real HTTP."""

import asyncio
import dataclasses
import math
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gql_server.db.models import JobCost
from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.factories import TEST_BOX
from tests.live.conftest import running
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.fake_spoolman import FakeSpoolmanServer
from tests.sync.conftest import FAST, add_printer, stored_jobs

LENGTH = 1800.0


@pytest.fixture(scope="module")
def spoolman_server() -> Iterator[FakeSpoolmanServer]:
    with FakeSpoolmanServer() as server:
        yield server


def test_a_job_written_from_a_notification_takes_its_spools_price(
    database: Database,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
    spoolman_server: FakeSpoolmanServer,
) -> None:
    spoolman_server.spoolman.add_spool(5, price=30.0, initial_weight=1000.0, density=1.27)
    options = dataclasses.replace(FAST, spoolman_url=spoolman_server.url, currency="EUR")
    syncer = Syncer(database, options, secret_box=TEST_BOX)
    fake.add_sample_files()
    filename = next(iter(fake.files))
    printer = add_printer(database, "voron-1", moonraker_server.url)
    spools = [{"provider": "spoolman", "name": "spool_ids", "value": [5],
               "description": "Spool IDs used", "units": None}]  # fmt: skip

    async def scenario() -> None:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            job = fake.websocket.start_print(filename, auxiliary_data=spools)
            await live.job_event("ADDED")
            fake.websocket.end_print(job["job_id"], filament_used=LENGTH, auxiliary_data=spools)
            await live.job_event("FINISHED")

    asyncio.run(scenario())
    (job,) = stored_jobs(database, printer)
    with database.scope() as session:
        cost = session.scalars(select(JobCost).where(JobCost.print_job_id == job.id)).one()
    grams = LENGTH * math.pi * (1.75 / 2) ** 2 / 1000 * 1.27
    assert (cost.spool_id, cost.spool_status, cost.filament_price_source) == (5, "FOUND", "SPOOL")
    assert math.isclose(cost.filament_cost or 0.0, grams / 1000 * 30.0, rel_tol=1e-12)
