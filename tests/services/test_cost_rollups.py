"""The cost rollups equal the jobs' costs: after writes, prices set between jobs,
rewrites, a deleted printer and a rebuild, for every grouping and filter the job
rollups answer (the same histories as tests/services/test_rollups.py)."""

import math
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gql_server.db.models import FilamentPrice, JobAnnotation, JobCost, PrintJob
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services import prices
from gql_server.services.annotations import AnnotationChanges, FailureReason, annotate_print_job
from gql_server.services.job_queries import JobFilter
from gql_server.services.prices import NewFilamentPrice
from gql_server.services.printers import delete_printer
from gql_server.services.rollups.costs import COST_LEVELS, KEYS, SUMS
from gql_server.services.rollups.costs import rebuild as rebuild_costs
from gql_server.services.rollups.maintain import zone_of
from gql_server.services.stats import CostSum, StatsGroupBy, StatsRequest, print_stats_costs
from gql_server.services.stats_sql import CALENDAR_KINDS
from tests.factories import make_printer
from tests.services.test_rollups import (
    CENTRES,
    _changed,
    _histories,
    _job,
    _set_zone,
    _write_all,
)
from tests.support.racing import meet_at, run_at_once
from tests.support.rollup_checks import close, job_filters
from tests.support.sql_counter import count_statements

ZONE = "Europe/Berlin"


def _price_everything(database: Database, printer_ids: list[int]) -> None:
    """Prices set in the middle of the history: jobs before them keep no price, and a
    second PLA price splits the PLA jobs after the first."""
    centre = CENTRES[ZONE][0]
    with database.scope() as session:
        for kind, price, at in (
            ("PLA", 20.0, centre - timedelta(days=1)),
            ("petg", 25.0, centre),
            ("pla", 31.5, centre + timedelta(hours=7)),
        ):
            new = NewFilamentPrice(kind, price, "EUR", 1.24, 1.75)
            prices.set_filament_price(session, new, farm_currency="EUR", now=at)
        for n, printer_id in enumerate(printer_ids):
            at = centre + timedelta(hours=n - 12)
            prices.set_hourly_cost(session, printer_id, 0.5 + n, farm_currency="EUR", now=at)


NONE = CostSum(0.0, 0.0, 0)


def _same(rolled: dict[Any, CostSum], raw: dict[Any, CostSum]) -> bool:
    """Equal sums per bucket; a bucket none of whose jobs has a cost may be absent (the
    API shows it as zeros either way)."""
    for key in rolled.keys() | raw.keys():
        a, b = rolled.get(key, NONE), raw.get(key, NONE)
        same = a.priced_jobs == b.priced_jobs and close(a.filament, b.filament)
        if not (same and close(a.machine, b.machine)):
            return False
    return True


def _cost_mismatches(database: Database, printer_ids: list[int]) -> list[Any]:
    centre = CENTRES[ZONE][0].astimezone(ZoneInfo(ZONE)).date()
    days = [centre - timedelta(days=1), centre + timedelta(days=2)]
    wrong = []
    with database.scope() as session:
        for job_filter in job_filters(printer_ids, days, ("UTC", ZONE)):
            for group_by in StatsGroupBy:
                zones = ("UTC", ZONE) if group_by.value in CALENDAR_KINDS else ("UTC",)
                for zone in zones:
                    request = StatsRequest(job_filter, group_by, zone)
                    rolled = print_stats_costs(session, request)
                    raw = print_stats_costs(session, request, use_rollups=False)
                    if not _same(rolled, raw):
                        wrong.append((job_filter, group_by, zone, rolled, raw))
    return wrong


def _cost_rollup_rows(database: Database) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    with database.scope() as session:
        return {
            level.name: {
                tuple(row[: len(KEYS[level])]): tuple(row[len(KEYS[level]) :])
                for row in session.execute(
                    select(*(level.c[n] for n in KEYS[level]), *(level.c[n] for n in SUMS))
                )
            }
            for level in COST_LEVELS
        }


def test_cost_rollups_equal_the_jobs_costs_through_rewrites_and_a_deleted_printer(
    database: Database,
) -> None:
    _set_zone(database, ZONE)
    printer_ids, histories = _histories(database, ZONE, seed=7, jobs_each=60)
    # Set after the jobs were written: they price the jobs starting after them (clocks
    # ahead of ours), the way setFilamentPrice reprices them.
    _price_everything(database, printer_ids)
    rng = random.Random(8)
    for printer_id, history in zip(printer_ids, histories, strict=True):
        _write_all(database, printer_id, _changed(rng, history))
    assert _cost_mismatches(database, printer_ids) == []
    with database.scope() as session:
        delete_printer(session, printer_ids[0])
    assert _cost_mismatches(database, printer_ids[1:]) == []


def _priced_then_written(database: Database) -> list[int]:
    """Prices first, then the histories: each job costed as it is written."""
    _set_zone(database, ZONE)
    with database.scope() as session:
        printer_ids = [make_printer(session, f"p{n}").id for n in range(4)]
    _price_everything(database, printer_ids)
    rng = random.Random(11)
    for printer_id in printer_ids:
        _write_all(database, printer_id, [_job(rng, i, i + 1, ZONE) for i in range(80)])
    return printer_ids


def test_jobs_written_after_the_prices_are_costed_and_summed_alike(database: Database) -> None:
    printer_ids = _priced_then_written(database)
    with database.scope() as session:
        costed = session.scalars(select(JobCost.filament_cost)).all()
    assert any(cost is not None for cost in costed) and any(cost is None for cost in costed)
    assert _cost_mismatches(database, printer_ids) == []


def test_a_rebuild_equals_what_the_writes_maintained(database: Database) -> None:
    _priced_then_written(database)
    maintained = _cost_rollup_rows(database)
    with database.scope() as session:
        rebuild_costs(session.connection(), zone_of(ZONE))
    rebuilt = _cost_rollup_rows(database)
    assert maintained.keys() == rebuilt.keys()
    for name, rows in maintained.items():
        assert rows.keys() == rebuilt[name].keys()
        for key, (count, priced, *floats) in rows.items():
            other_count, other_priced, *other_floats = rebuilt[name][key]
            assert (count, priced) == (other_count, other_priced)
            assert all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
                for a, b in zip(floats, other_floats, strict=True)
            )


def test_cost_stats_over_the_whole_history_read_no_job(database: Database) -> None:
    _priced_then_written(database)
    groupings = (
        StatsGroupBy.FILAMENT_TYPE,
        StatsGroupBy.MONTH,
        StatsGroupBy.PRINTER,
        StatsGroupBy.SLICER,
    )
    for group_by in groupings:
        with database.scope() as session, count_statements(database.engine) as log:
            print_stats_costs(session, StatsRequest(JobFilter(), group_by, ZONE))
        assert [s for s in log.statements if "print_jobs" in s or "job_costs " in s] == []


def test_cost_stats_by_failure_reason_and_slicer_sum_the_jobs_costs(database: Database) -> None:
    """Each bucket sums its jobs' stored costs, whether read from the annotated jobs
    (FAILURE_REASON) or from the rollups keyed by the slicer."""
    _priced_then_written(database)
    with database.scope() as session:
        jobs = session.execute(
            select(PrintJob.id, PrintJob.slicer_folded, JobCost.filament_cost, JobCost.machine_cost)
            .outerjoin(JobCost, JobCost.print_job_id == PrintJob.id)
            .order_by(PrintJob.id)
        ).all()
        reasons = list(FailureReason)
        for n, job in enumerate(jobs[::7]):
            changes = AnnotationChanges(failure_reason=reasons[n % len(reasons)])
            annotate_print_job(session, job.id, changes, now=utcnow())
        reason_of = {
            job_id: reason
            for job_id, reason in session.execute(
                select(JobAnnotation.print_job_id, JobAnnotation.failure_reason)
            )
        }
    for group_by, key_of in (
        (StatsGroupBy.FAILURE_REASON, lambda job: reason_of.get(job.id)),
        (StatsGroupBy.SLICER, lambda job: job.slicer_folded),
    ):
        expected: dict[Any, list[float]] = {}
        for job in jobs:
            sums = expected.setdefault(key_of(job), [0.0, 0.0, 0])
            sums[0] += job.filament_cost or 0.0
            sums[1] += job.machine_cost or 0.0
            sums[2] += job.filament_cost is not None
        with database.scope() as session:
            found = print_stats_costs(session, StatsRequest(JobFilter(), group_by))
        assert set(found) <= set(expected)
        for key, (filament, machine, priced) in expected.items():
            got = found.get(key, NONE)
            assert got.priced_jobs == priced, (group_by, key)
            assert math.isclose(got.filament, filament, rel_tol=1e-9, abs_tol=1e-9)
            assert math.isclose(got.machine, machine, rel_tol=1e-9, abs_tol=1e-9)


def test_two_prices_set_at_once_cost_each_job_once_by_the_price_in_force(
    database: Database,
) -> None:
    _set_zone(database, ZONE)
    printer_ids, _ = _histories(database, ZONE, seed=5, jobs_each=30)
    before_every_job = CENTRES[ZONE][0] - timedelta(days=365)

    def set_price(per_kg: float) -> Callable[[Session], object]:
        new = NewFilamentPrice("PLA", per_kg, "EUR", 1.24, 1.75)
        return lambda session: prices.set_filament_price(
            session, new, farm_currency="EUR", now=before_every_job
        )

    with meet_at(database.engine, "INSERT INTO job_costs"):
        outcomes = run_at_once(database, [set_price(20.0), set_price(30.0)])
    assert [outcome.error for outcome in outcomes] == [None, None]
    with database.scope() as session:
        in_force = session.scalar(select(func.max(FilamentPrice.id)))  # same time: the last
        used = set(session.scalars(select(JobCost.filament_price_id).distinct()))
    assert used - {None} == {in_force}
    assert _cost_mismatches(database, printer_ids) == []
