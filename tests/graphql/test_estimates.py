"""Estimates against actual print time: per job, and as percentiles per stats bucket,
equal to what the inserted jobs give."""

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from tests.graphql.conftest import GraphQLClient
from tests.graphql.file_farm import JOBS, Farm, Job, seed_farm


def _error(job: Job) -> float | None:
    """The rule, stated once here: completed, with a print duration and a positive
    estimate; positive when the print took longer."""
    if job.status != "completed" or job.print_duration is None or not job.estimated_time:
        return None
    return (job.print_duration - job.estimated_time) / job.estimated_time


def _nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


def _summaries(bucket_of: Callable[[Job], Any]) -> dict[Any, dict[str, Any]]:
    errors: dict[Any, list[float]] = defaultdict(list)
    buckets = {bucket_of(job) for job in JOBS}
    for job in JOBS:
        error = _error(job)
        if error is not None:
            errors[bucket_of(job)].append(abs(error))
    return {
        bucket: {
            "median": _nearest_rank(errors[bucket], 0.5) if errors[bucket] else None,
            "p90": _nearest_rank(errors[bucket], 0.9) if errors[bucket] else None,
            "count": len(errors[bucket]),
        }
        for bucket in buckets
    }


def _close(shown: dict[str, Any], expected: dict[str, Any]) -> bool:
    for key, value in expected.items():
        if isinstance(value, float):
            if shown[key] is None or abs(shown[key] - value) > 1e-9:
                return False
        elif shown[key] != value:
            return False
    return True


def test_each_jobs_estimate_error(gql: GraphQLClient, database: Database) -> None:
    seed_farm(database)
    nodes = gql.execute("{ printJobs(first: 50) { nodes { jobId startTime estimateError } } }")
    shown = {
        (n["jobId"], n["startTime"][:13]): n["estimateError"] for n in nodes["printJobs"]["nodes"]
    }
    expected = {(job.job_id, job.start.isoformat()[:13]): _error(job) for job in JOBS}
    assert shown.keys() == expected.keys()
    for key, error in expected.items():
        assert (shown[key] is None) == (error is None), key
        if error is not None:
            assert abs(shown[key] - error) < 1e-9, key
    # The sign: the first benchy took 1000 s against an estimate of 900 s.
    assert abs(shown[("000001", JOBS[0].start.isoformat()[:13])] - 100 / 900) < 1e-9


def _stats(gql: GraphQLClient, group_by: str) -> list[dict[str, Any]]:
    query = (
        f"{{ printStats(groupBy: {group_by}) {{ key jobCount "
        "estimateError { median p90 count } } }"
    )
    buckets: list[dict[str, Any]] = gql.execute(query)["printStats"]
    return buckets


def test_estimate_percentiles_per_slicer(gql: GraphQLClient, database: Database) -> None:
    seed_farm(database)
    buckets = _stats(gql, "SLICER")
    expected = _summaries(lambda job: None if job.slicer is None else job.slicer.casefold())
    assert {b["key"] for b in buckets} == set(expected)
    counts = defaultdict(int)
    for job in JOBS:
        counts[None if job.slicer is None else job.slicer.casefold()] += 1
    for bucket in buckets:
        assert bucket["jobCount"] == counts[bucket["key"]]
        assert _close(bucket["estimateError"], expected[bucket["key"]]), bucket


@pytest.mark.parametrize(
    ("group_by", "key_of"),
    [
        ("STATUS", lambda farm, job: job.status.upper()),
        ("PRINTER", lambda farm, job: to_global_id("Printer", farm.printers[job.printer])),
        ("FILAMENT_TYPE", lambda farm, job: job.filament_type and job.filament_type.casefold()),
        ("DAY", lambda farm, job: job.start.date().isoformat()),
    ],
)
def test_estimate_percentiles_beside_buckets_the_rollups_answer(
    gql: GraphQLClient, database: Database, group_by: str, key_of: Callable[[Farm, Job], Any]
) -> None:
    farm = seed_farm(database)
    expected = _summaries(lambda job: key_of(farm, job))
    buckets = _stats(gql, group_by)
    if group_by == "FILAMENT_TYPE":  # keys show a spelling; buckets are by folded type
        for bucket in buckets:
            bucket["key"] = bucket["key"] and bucket["key"].casefold()
    assert {b["key"] for b in buckets} == set(expected)
    for bucket in buckets:
        assert _close(bucket["estimateError"], expected[bucket["key"]]), bucket
