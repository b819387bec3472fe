"""Migration 0017 keys the whole-history rollups (jobs and costs) by the slicer: the rows
it writes sum to the ones it replaces, answer SLICER as the jobs do and equal a rebuild;
its downgrade sums them back and drops the columns."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from gql_server.db.migrate import migrate_to
from gql_server.db.session import Database
from gql_server.services.job_queries import JobFilter
from gql_server.services.rollups.costs import rebuild as rebuild_costs
from gql_server.services.rollups.maintain import stored_zone, zone_of
from gql_server.services.rollups.rebuild import rebuild
from gql_server.services.stats import StatsGroupBy, StatsRequest, print_stats, print_stats_costs
from tests.db.conftest import BOTH_DATABASES, database_at
from tests.db.test_rollups_migration import BEFORE, JOBS, SLICERS, add_rows
from tests.support.rollup_checks import close, rollup_rows, same_buckets, same_rollups

OLD_KEYS = "printer_id, status, has_filament_type, filament_type_folded, filament_type"
# (job row id, filament cost or None, machine cost), as job_costs holds them at 0016.
COSTS = ((1, 2.5, 1.25), (2, None, 0.75), (3, 4.0, 0.5))


def _add_costs(engine: Engine) -> None:
    """job_costs rows, and both whole-history levels as 0010 and the writes left them."""
    with engine.begin() as connection:
        for job_id, filament, machine in COSTS:
            connection.execute(
                text(
                    "INSERT INTO job_costs (print_job_id, filament_cost, machine_cost, currency, "
                    "filament_price_source, printer_id, status, start_time, filament_type, "
                    "filament_type_folded) SELECT j.id, :filament, :machine, 'EUR', 'x', "
                    "j.printer_id, j.status, j.start_time, d.filament_type, "
                    "d.filament_type_folded FROM print_jobs j LEFT JOIN job_details d "
                    "ON d.print_job_id = j.id WHERE j.id = :id"
                ),
                {"id": job_id, "filament": filament, "machine": machine},
            )
        keys = (
            "j.printer_id, j.status, d.filament_type IS NOT NULL, "
            "COALESCE(d.filament_type_folded, ''), COALESCE(d.filament_type, '')"
        )
        connection.execute(
            text(
                f"INSERT INTO job_rollup_totals ({OLD_KEYS}, job_count, print_time, "
                f"total_time, filament_used) SELECT {keys}, COUNT(*), "
                "SUM(COALESCE(j.print_duration, 0)), SUM(COALESCE(j.total_duration, 0)), "
                "SUM(COALESCE(j.filament_used, 0)) FROM print_jobs j LEFT JOIN job_details d "
                f"ON d.print_job_id = j.id GROUP BY {keys}"
            )
        )
        cost_keys = keys.replace("j.", "c.").replace("d.", "c.")
        connection.execute(
            text(
                f"INSERT INTO job_cost_rollup_totals ({OLD_KEYS}, job_count, priced_jobs, "
                f"filament_cost, machine_cost) SELECT {cost_keys}, COUNT(*), "
                "COUNT(c.filament_cost), SUM(COALESCE(c.filament_cost, 0)), "
                f"SUM(COALESCE(c.machine_cost, 0)) FROM job_costs c GROUP BY {cost_keys}"
            )
        )


@pytest.fixture(params=BOTH_DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at 0016 holding jobs, their costs and both whole-history levels."""
    with database_at(request.param, tmp_path, BEFORE) as engine:
        add_rows(engine)
        migrate_to(engine, "0016")
        _add_costs(engine)
        yield engine


def _per_old_key(engine: Engine, table: str, sums: str) -> dict[tuple[Any, ...], list[float]]:
    query = f"SELECT {OLD_KEYS}, {sums} FROM {table} GROUP BY {OLD_KEYS}"
    with engine.connect() as connection:
        return {
            tuple(row[:5]): [float(value) for value in row[5:]]
            for row in connection.execute(text(query))
        }


def _old_sums(engine: Engine) -> dict[str, dict[tuple[Any, ...], list[float]]]:
    return {
        "job_rollup_totals": _per_old_key(
            engine,
            "job_rollup_totals",
            "SUM(job_count), SUM(print_time), SUM(total_time), SUM(filament_used)",
        ),
        "job_cost_rollup_totals": _per_old_key(
            engine,
            "job_cost_rollup_totals",
            "SUM(job_count), SUM(priced_jobs), SUM(filament_cost), SUM(machine_cost)",
        ),
    }


def _same_sums(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(
        a[name].keys() == b[name].keys()
        and all(all(map(close, a[name][key], b[name][key])) for key in a[name])
        for name in a
    )


def test_upgrade_keeps_every_sum_and_splits_it_by_slicer(engine: Engine) -> None:
    before = _old_sums(engine)
    migrate_to(engine, "0017")
    assert _same_sums(before, _old_sums(engine))
    with engine.connect() as connection:
        query = text("SELECT print_job_id, slicer_folded FROM job_costs")
        stored = {job_id: slicer for job_id, slicer in connection.execute(query)}
    assert stored == {job_id: SLICERS.get(job_id) for job_id, _, _ in COSTS}
    with Database(engine).scope() as session:
        slicers = StatsRequest(JobFilter(), StatsGroupBy.SLICER)
        rolled = print_stats(session, slicers)
        raw = print_stats(session, slicers, use_rollups=False)
        costs = print_stats_costs(session, slicers)
        raw_costs = print_stats_costs(session, slicers, use_rollups=False)
    assert same_buckets(rolled, raw)
    assert [(bucket.key, bucket.job_count) for bucket in rolled] == [
        (None, 1),
        ("", 1),
        ("prusaslicer", 2),
    ]
    priced = {key: cost.priced_jobs for key, cost in costs.items()}
    assert priced == {None: 1, "prusaslicer": 1}
    assert {key: cost.priced_jobs for key, cost in raw_costs.items() if key in costs} == priced
    assert costs["prusaslicer"].machine == pytest.approx(raw_costs["prusaslicer"].machine) == 2.0


def test_upgrade_equals_a_rebuild(engine: Engine) -> None:
    migrate_to(engine, "0017")
    with Database(engine).scope() as session:
        built = rollup_rows(session)
        cost_query = text("SELECT * FROM job_cost_rollup_totals ORDER BY 1, 2, 3, 4, 5, 6, 7")
        costs = list(session.execute(cost_query))
        connection = session.connection()
        zone = stored_zone(connection)
        rebuild(connection, zone)
        rebuild_costs(connection, zone_of(zone))
        assert same_rollups(built, rollup_rows(session))
        assert list(session.execute(cost_query)) == costs


def test_downgrade_sums_the_slicers_back_and_drops_the_columns(engine: Engine) -> None:
    before = _old_sums(engine)
    migrate_to(engine, "0017")
    migrate_to(engine, "0016", downgrade=True)
    assert _same_sums(before, _old_sums(engine))
    for table in ("job_costs", "job_rollup_totals", "job_cost_rollup_totals"):
        columns = {column["name"] for column in inspect(engine).get_columns(table)}
        assert columns.isdisjoint({"has_slicer", "slicer_folded"}), table
    assert len(JOBS) == sum(int(row[0]) for row in before["job_rollup_totals"].values())
    migrate_to(engine, "0017")
