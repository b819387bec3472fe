"""Printers whose Moonrakers number their jobs alike: every job stays its printer's own."""

from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.sync.conftest import JOB, add_printer, job_key, run_sync, stored_keys


def test_two_printers_with_the_same_job_ids_and_starts_keep_all_their_jobs(
    database: Database,
    syncer: Syncer,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(30, seed=5)
    other_fake.add_jobs(30, seed=5)  # the same ids and start times
    first = add_printer(database, "first", moonraker_server.url)
    second = add_printer(database, "second", other_moonraker_server.url)
    results = [run_sync(syncer, printer_id) for printer_id in (first, second)]
    expected = {job_key(job): 1 for job in fake.jobs}
    assert [result.ok for result in results] == [True, True]
    assert {job_key(job): 1 for job in other_fake.jobs} == expected
    assert (stored_keys(database, first), stored_keys(database, second)) == (expected, expected)


def test_a_sync_never_asks_for_another_printers_unfinished_jobs(
    database: Database,
    syncer: Syncer,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(3, seed=6)
    fake.add_job(status="in_progress")
    other_fake.add_jobs(3, seed=7)
    first = add_printer(database, "first", moonraker_server.url)
    second = add_printer(database, "second", other_moonraker_server.url)
    run_sync(syncer, first)
    run_sync(syncer, second)  # the first sync of each reads its list; none is unfinished
    other_fake.clear_requests()
    run_sync(syncer, second)
    assert other_fake.requests_to(JOB) == []
