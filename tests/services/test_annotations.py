"""Job annotations: omitted fields kept, null clears, bounds refused, and no import ever
overwrites them; printStats groups and filters by their failure reason."""

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gql_server.db.models import JobAnnotation
from gql_server.db.session import Database
from gql_server.services.annotations import (
    AnnotationChanges,
    FailureReason,
    annotate_print_job,
    fetch_annotations,
)
from gql_server.services.errors import ServiceError
from gql_server.services.job_queries import JobFilter, count_jobs, fetch_jobs_by_ids
from gql_server.services.jobs import upsert_jobs
from gql_server.services.printers import delete_printer
from gql_server.services.stats import StatsGroupBy, StatsRequest, print_stats
from tests.factories import EPOCH, make_job_row, make_printer
from tests.support.racing import cut_in_before, meet_at, run_at_once
from tests.support.sql_counter import count_statements

NOW = EPOCH + timedelta(days=30)


def _jobs(database: Database, count: int, **overrides: object) -> tuple[int, list[int]]:
    with database.scope() as session:
        printer_id = make_printer(session).id
        result = upsert_jobs(
            session, printer_id, [make_job_row(i, **overrides) for i in range(count)]
        )
        return printer_id, sorted(result.ids.values())


def _annotate(database: Database, job_id: int, **changes: object) -> None:
    with database.scope() as session:
        annotate_print_job(session, job_id, AnnotationChanges(**changes), now=NOW)


def _stored(database: Database, job_id: int) -> tuple[object, ...] | None:
    with database.scope() as session:
        row = fetch_annotations(session, [job_id]).get(job_id)
        return None if row is None else (row.note, row.failure_reason, row.rating)


def test_omitted_fields_are_kept_and_null_clears_one(database: Database) -> None:
    _, (job,) = _jobs(database, 1)
    _annotate(database, job, note="first layer lifted", failure_reason=FailureReason.ADHESION)
    _annotate(database, job, rating=2)
    assert _stored(database, job) == ("first layer lifted", "adhesion", 2)
    _annotate(database, job, note=None)
    assert _stored(database, job) == (None, "adhesion", 2)


def test_clearing_every_field_removes_the_annotation(database: Database) -> None:
    _, (job,) = _jobs(database, 1)
    _annotate(database, job, note="x", rating=4)
    _annotate(database, job, note=None, rating=None)
    assert _stored(database, job) is None
    with database.scope() as session:
        assert session.scalar(select(func.count()).select_from(JobAnnotation)) == 0


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"rating": 0}, "OUT_OF_RANGE", "rating"),
        ({"rating": 6}, "OUT_OF_RANGE", "rating"),
        ({"note": "n" * 2001}, "TOO_LONG", "note"),
    ],
)
def test_values_out_of_bounds_are_refused_and_nothing_is_written(
    database: Database, changes: dict[str, object], code: str, field: str
) -> None:
    _, (job,) = _jobs(database, 1)
    with pytest.raises(ServiceError) as refused:
        _annotate(database, job, **changes)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert _stored(database, job) is None


def test_an_unknown_job_is_not_found(database: Database) -> None:
    with pytest.raises(ServiceError) as refused:
        _annotate(database, 987654, rating=3)
    assert refused.value.code == "NOT_FOUND"


def test_a_resync_that_rewrites_the_job_keeps_its_annotation(database: Database) -> None:
    running = make_job_row(1, status="in_progress", end_time=None)
    with database.scope() as session:
        printer_id = make_printer(session).id
        (job,) = upsert_jobs(session, printer_id, [running]).ids.values()
    _annotate(database, job, note="watch the corner", rating=3)
    with database.scope() as session:
        rewritten = upsert_jobs(session, printer_id, [make_job_row(1, status="completed")])
    assert rewritten.updated == 1 and list(rewritten.ids.values()) == [job]
    assert _stored(database, job) == ("watch the corner", None, 3)


def test_deleting_the_printer_deletes_its_jobs_annotations(database: Database) -> None:
    printer_id, (job,) = _jobs(database, 1)
    _annotate(database, job, rating=5)
    with database.scope() as session:
        delete_printer(session, printer_id)
    with database.scope() as session:
        assert session.scalar(select(func.count()).select_from(JobAnnotation)) == 0


REASONS = [FailureReason.ADHESION, FailureReason.CLOG, FailureReason.ADHESION, None, None]


def _annotated_farm(database: Database) -> dict[int, tuple[str | None, float, str]]:
    """Five jobs, three with a failure reason: job id -> (reason, print seconds, status)."""
    _, jobs = _jobs(database, len(REASONS), status="error")
    for job, reason in zip(jobs, REASONS, strict=True):
        if reason is not None:
            _annotate(database, job, failure_reason=reason)
    _annotate(database, jobs[3], note="a note but no reason")
    with database.scope() as session:
        rows = fetch_jobs_by_ids(session, jobs)
    return {
        job: (None if r is None else r.value, rows[job].print_duration, rows[job].status)
        for job, r in zip(jobs, REASONS, strict=True)
    }


def test_stats_by_failure_reason_sum_the_jobs_of_each_reason(database: Database) -> None:
    farm = _annotated_farm(database)
    with database.scope() as session:
        buckets = print_stats(session, StatsRequest(JobFilter(), StatsGroupBy.FAILURE_REASON))
    counts = Counter(reason for reason, _, _ in farm.values())
    seconds: dict[str | None, float] = {}
    for reason, duration, _ in farm.values():
        seconds[reason] = seconds.get(reason, 0.0) + duration
    assert {b.key: b.job_count for b in buckets} == dict(counts)
    assert {b.key: b.print_time for b in buckets} == pytest.approx(seconds)
    assert [b.key for b in buckets] == [None, "adhesion", "clog"]


def test_the_rollups_decline_the_failure_reason_grouping_and_filter(database: Database) -> None:
    farm = _annotated_farm(database)
    adhesion = JobFilter(failure_reasons=("adhesion",))
    with database.scope() as session:
        request = StatsRequest(adhesion, StatsGroupBy.STATUS)
        from_rollups = print_stats(session, request)
        from_jobs = print_stats(session, request, use_rollups=False)
        counted = count_jobs(session, adhesion)
    expected = sum(1 for reason, _, _ in farm.values() if reason == "adhesion")
    assert [(b.key, b.job_count) for b in from_rollups] == [("error", expected)]
    assert from_rollups == from_jobs
    assert counted == expected


def test_stats_by_failure_reason_read_only_the_annotated_jobs(database: Database) -> None:
    _annotated_farm(database)
    with database.scope() as session, count_statements(database.engine) as log:
        print_stats(session, StatsRequest(JobFilter(), StatsGroupBy.FAILURE_REASON))
    reading_jobs = [s for s in log.statements if "print_jobs" in s]
    assert [s for s in reading_jobs if "FROM job_annotations" not in s] == []
    assert any("job_rollup_totals" in s for s in log.statements)  # the totals


def test_a_failure_reason_filter_leaves_no_bucket_without_a_reason(database: Database) -> None:
    farm = _annotated_farm(database)
    clog = JobFilter(failure_reasons=("clog",))
    with database.scope() as session:
        buckets = print_stats(session, StatsRequest(clog, StatsGroupBy.FAILURE_REASON))
    expected = sum(1 for reason, _, _ in farm.values() if reason == "clog")
    assert [(b.key, b.job_count) for b in buckets] == [("clog", expected)]


FIRST_WRITES = [
    {"note": "lifted", "failure_reason": FailureReason.ADHESION, "rating": 1},
    {"note": "clogged", "failure_reason": FailureReason.CLOG, "rating": 2},
]


def test_two_first_annotations_at_once_store_one_of_them_whole(database: Database) -> None:
    _, (job,) = _jobs(database, 1)

    def annotate(changes: dict[str, Any]) -> Callable[[Session], object]:
        return lambda session: annotate_print_job(
            session, job, AnnotationChanges(**changes), now=NOW
        )

    with meet_at(database.engine, "INSERT INTO job_annotations"):
        outcomes = run_at_once(database, [annotate(changes) for changes in FIRST_WRITES])
    assert [outcome.error for outcome in outcomes] == [None, None]
    written = [(w["note"], w["failure_reason"].value, w["rating"]) for w in FIRST_WRITES]
    assert _stored(database, job) in written


def test_annotating_a_job_deleted_meanwhile_is_not_found(database: Database) -> None:
    printer_id, (job,) = _jobs(database, 1)

    def remove_printer() -> None:
        database.scope_run(lambda session: delete_printer(session, printer_id))

    with (
        cut_in_before(database.engine, "INSERT INTO job_annotations", remove_printer) as removal,
        pytest.raises(ServiceError) as refused,
    ):
        _annotate(database, job, rating=4)
    assert (removal.error, refused.value.code, refused.value.field) == (None, "NOT_FOUND", "id")
