"""printJobs filters and printStats buckets, checked against Python over the inserted rows.

Durations and lengths are multiples of 1/8, so every sum is exact in floating point
whatever order the database adds them in: expected and returned values compare with ==.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gql_server.db.session import Database
from gql_server.graphql.limits import MAX_LIST_ITEMS
from gql_server.services.jobs import upsert_details, upsert_jobs
from tests.factories import make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient

PRINTERS = ("voron", "prusa", "ender")
# The statuses Moonraker writes today; anything else is UNKNOWN to the API.
MOONRAKER_STATUSES = {
    "completed",
    "cancelled",
    "error",
    "in_progress",
    "klippy_shutdown",
    "klippy_disconnect",
    "server_exit",
    "interrupted",
}
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")


@dataclass(frozen=True)
class JobSpec:
    printer: str
    start: str  # ISO 8601, UTC
    status: str = "completed"
    user: str | None = "alice"
    filename: str = "part.gcode"
    print_duration: float | None = 1000.5
    total_duration: float | None = 1100.25
    filament_used: float | None = 400.125
    slicer: str | None = "PrusaSlicer"  # None: metadata without a slicer key
    filament_type: str | None = "PLA"  # None: no job_details row

    @property
    def start_time(self) -> datetime:
        return datetime.fromisoformat(self.start)


# Instants chosen around day, week, month and DST boundaries of the zones tested:
# Berlin switches at 2026-03-29 01:00Z and 2026-10-25 01:00Z, New York at 2026-03-08
# 07:00Z and 2026-11-01 06:00Z; Kolkata is +05:30 all year.
JOBS = (
    JobSpec("voron", "2026-03-10T23:30:00+00:00", filename="benchy.gcode", slicer="OrcaSlicer"),
    JobSpec("voron", "2026-03-10T02:00:00+00:00", user="bob", filename="100%_infill.gcode",
            print_duration=1800.25, total_duration=1900.5, filament_used=800.5,
            filament_type="PETG"),
    JobSpec("prusa", "2026-03-10T18:29:00+00:00", status="cancelled",
            filename="100x_infill.gcode", print_duration=600.0, total_duration=650.0,
            filament_used=120.25),
    JobSpec("prusa", "2026-03-10T18:31:00+00:00", status="error", user="carol",
            filename="a_b.gcode", print_duration=None, total_duration=300.5,
            filament_used=None, slicer="OrcaSlicer", filament_type=None),
    JobSpec("ender", "2026-03-28T22:30:00+00:00", user="bob", filename="axb.gcode",
            print_duration=2400.75, filament_type="ABS"),
    JobSpec("ender", "2026-03-28T23:30:00+00:00", status="in_progress", filename="cube.gcode",
            print_duration=500.5, total_duration=None, filament_used=None,
            slicer="OrcaSlicer"),
    JobSpec("voron", "2026-03-29T00:30:00+00:00", status="paused_forever", user="dave",
            filename="vase.gcode", print_duration=100.25, total_duration=200.5,
            filament_used=50.125, slicer=None, filament_type="PETG"),
    JobSpec("voron", "2026-03-29T01:30:00+00:00", filename="clip.gcode", slicer=None,
            filament_type=None),
    JobSpec("prusa", "2026-03-29T22:30:00+00:00", user="carol", filename="hook.gcode",
            slicer="OrcaSlicer", filament_used=333.375),
    JobSpec("ender", "2026-03-08T04:30:00+00:00", status="klippy_shutdown", user="bob",
            filename="gear.gcode", print_duration=12.5, filament_type="PETG"),
    JobSpec("ender", "2026-03-08T06:30:00+00:00", filename="gear_2.gcode", slicer="OrcaSlicer"),
    JobSpec("voron", "2026-03-09T03:30:00+00:00", status="cancelled", filename="spool.gcode",
            filament_type="PLA;PETG"),
    JobSpec("prusa", "2026-03-09T04:30:00+00:00", user="bob", filename="knob.gcode",
            filament_type="ABS"),
    JobSpec("voron", "2026-02-28T23:30:00+00:00", status="server_exit", filename="tag.gcode",
            print_duration=None, total_duration=None, filament_used=None),
    JobSpec("prusa", "2026-03-31T22:30:00+00:00", filename="lid.gcode", slicer="OrcaSlicer",
            filament_type="PETG"),
    JobSpec("ender", "2026-03-15T23:30:00+00:00", status="klippy_disconnect", user="dave",
            filename="box_lid.gcode"),
    JobSpec("voron", "2026-10-24T22:30:00+00:00", filename="fan_duct.gcode"),
    JobSpec("prusa", "2026-10-25T22:30:00+00:00", status="interrupted", user=None,
            filename="fan_duct_2.gcode", slicer="OrcaSlicer"),
    JobSpec("ender", "2026-11-01T05:30:00+00:00", filename="bracket.gcode", filament_type="ABS"),
    JobSpec("ender", "2026-11-02T04:30:00+00:00", status="cancelled", user="carol",
            filename="bracket_v2.gcode", print_duration=75.125),
    JobSpec("voron", "2026-01-15T12:00:00+00:00", filename="first.gcode", user=None),
)  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    jobs: dict[int, JobSpec]  # by row id
    printer_ids: dict[str, int]  # database ids by name

    def ids(self, predicate: Callable[[JobSpec], bool]) -> list[int]:
        return sorted(row_id for row_id, job in self.jobs.items() if predicate(job))


def _row(index: int, job: JobSpec) -> dict[str, Any]:
    metadata = {"layer_height": 0.2} if job.slicer is None else {"slicer": job.slicer}
    return {
        "job_id": f"{index:06X}",
        "user": job.user,
        "filename": job.filename,
        "status": job.status,
        "start_time": job.start_time,
        "end_time": None if job.total_duration is None else job.start_time + timedelta(hours=1),
        "print_duration": job.print_duration,
        "total_duration": job.total_duration,
        "filament_used": job.filament_used,
        "job_metadata": metadata,
        "auxiliary_data": None,
    }


def seed(database: Database, jobs: tuple[JobSpec, ...] = JOBS) -> Seeded:
    by_id: dict[int, JobSpec] = {}
    with database.scope() as session:
        printer_ids = {name: make_printer(session, name).id for name in PRINTERS}
        for index, job in enumerate(jobs, start=1):
            row = _row(index, job)
            result = upsert_jobs(session, printer_ids[job.printer], [row])
            by_id[result.ids[(row["job_id"], row["start_time"])]] = job
        upsert_details(
            session,
            [
                {"print_job_id": row_id, "filament_type": job.filament_type}
                for row_id, job in by_id.items()
                if job.filament_type is not None
            ],
        )
    return Seeded(jobs=by_id, printer_ids=printer_ids)


FILTERED = """
query ($filter: PrintJobFilter) {
  printJobs(first: 100, filter: $filter) { nodes { databaseId } }
}
"""


def filtered_ids(gql: GraphQLClient, job_filter: dict[str, Any]) -> list[int]:
    nodes = gql.execute(FILTERED, {"filter": job_filter})["printJobs"]["nodes"]
    return sorted(node["databaseId"] for node in nodes)


def printer_global_ids(gql: GraphQLClient) -> dict[str, str]:
    nodes = gql.execute("{ printers(first: 100) { nodes { id name } } }")["printers"]["nodes"]
    return {node["name"]: node["id"] for node in nodes}


# --- filters --------------------------------------------------------------------------


def test_each_filter_field_alone_selects_the_jobs_that_match_it(
    gql: GraphQLClient, database: Database
) -> None:
    seeded = seed(database)
    prusa = printer_global_ids(gql)["prusa"]
    cut = datetime.fromisoformat("2026-03-29T00:00:00+00:00")
    cases: dict[str, tuple[dict[str, Any], Callable[[JobSpec], bool]]] = {
        "printerIds": ({"printerIds": [prusa]}, lambda j: j.printer == "prusa"),
        "statuses": (
            {"statuses": ["CANCELLED", "ERROR"]},
            lambda j: j.status in ("cancelled", "error"),
        ),
        "user": ({"user": "bob"}, lambda j: j.user == "bob"),
        "filamentTypes": (
            {"filamentTypes": ["PETG", "ABS"]},
            lambda j: j.filament_type in ("PETG", "ABS"),
        ),
        "startedAfter": ({"startedAfter": cut.isoformat()}, lambda j: j.start_time > cut),
        "startedBefore": ({"startedBefore": cut.isoformat()}, lambda j: j.start_time < cut),
    }
    returned = {name: filtered_ids(gql, f) for name, (f, _) in cases.items()}
    assert returned == {name: seeded.ids(predicate) for name, (_, predicate) in cases.items()}


def test_status_unknown_matches_statuses_moonraker_may_add_later(
    gql: GraphQLClient, database: Database
) -> None:
    seeded = seed(database)
    expected = seeded.ids(lambda job: job.status not in MOONRAKER_STATUSES)
    assert filtered_ids(gql, {"statuses": ["UNKNOWN"]}) == expected != []


def test_an_unknown_status_reads_back_as_unknown(gql: GraphQLClient, database: Database) -> None:
    seeded = seed(database)
    nodes = gql.execute("{ printJobs(first: 100) { nodes { databaseId status } } }")
    statuses = {n["databaseId"]: n["status"] for n in nodes["printJobs"]["nodes"]}
    expected = {
        row_id: job.status.upper() if job.status in MOONRAKER_STATUSES else "UNKNOWN"
        for row_id, job in seeded.jobs.items()
    }
    assert statuses == expected


def test_filename_contains_matches_percent_and_underscore_literally(
    gql: GraphQLClient, database: Database
) -> None:
    seeded = seed(database)
    texts = ["%_", "0%", "a_b", "_"]
    returned = {text: filtered_ids(gql, {"filenameContains": text}) for text in texts}
    assert returned == {text: seeded.ids(lambda job, t=text: t in job.filename) for text in texts}


def test_slicer_is_matched_inside_the_metadata_json(gql: GraphQLClient, database: Database) -> None:
    seeded = seed(database)
    expected = seeded.ids(lambda job: job.slicer == "OrcaSlicer")
    assert filtered_ids(gql, {"slicer": "OrcaSlicer"}) == expected != []


def test_a_started_after_with_an_offset_is_the_same_instant_in_utc(
    gql: GraphQLClient, database: Database
) -> None:
    seeded = seed(database)
    # 18:00Z: read as 20:00Z, the jobs at 18:29Z and 18:31Z would be left out
    at_plus_two = datetime.fromisoformat("2026-03-10T20:00:00+02:00")
    expected = seeded.ids(lambda job: job.start_time > at_plus_two)
    assert filtered_ids(gql, {"startedAfter": at_plus_two.isoformat()}) == expected


def test_filters_combine_with_and(gql: GraphQLClient, database: Database) -> None:
    seeded = seed(database)
    ids = printer_global_ids(gql)
    march = datetime.fromisoformat("2026-03-01T00:00:00+00:00")
    april = datetime.fromisoformat("2026-04-01T00:00:00+00:00")
    combined = {
        "printers_and_statuses": filtered_ids(
            gql,
            {"printerIds": [ids["voron"], ids["ender"]], "statuses": ["COMPLETED", "UNKNOWN"]},
        ),
        "slicer_user_and_window": filtered_ids(
            gql,
            {
                "slicer": "PrusaSlicer",
                "user": "alice",
                "startedAfter": march.isoformat(),
                "startedBefore": april.isoformat(),
            },
        ),
    }
    assert combined == {
        "printers_and_statuses": seeded.ids(
            lambda j: (
                j.printer in ("voron", "ender")
                and (j.status == "completed" or j.status not in MOONRAKER_STATUSES)
            )
        ),
        "slicer_user_and_window": seeded.ids(
            lambda j: (
                j.slicer == "PrusaSlicer" and j.user == "alice" and march < j.start_time < april
            )
        ),
    }


# --- stats ----------------------------------------------------------------------------

BUCKET_FIELDS = "key jobCount completedCount successRate printTime totalTime filamentUsed"
STATS = f"""
query ($groupBy: StatsGroupBy!, $filter: PrintJobFilter, $timezone: String!) {{
  printStats(groupBy: $groupBy, filter: $filter, timezone: $timezone) {{
    {BUCKET_FIELDS} printer {{ name }}
  }}
}}
"""


def summary(jobs: list[JobSpec]) -> dict[str, Any]:
    """What a bucket must say about ``jobs``: success over finished (not in_progress)."""
    finished = [job for job in jobs if job.status != "in_progress"]
    completed = sum(job.status == "completed" for job in jobs)
    return {
        "jobCount": len(jobs),
        "completedCount": completed,
        "successRate": completed / len(finished) if finished else None,
        "printTime": sum(job.print_duration or 0 for job in jobs),
        "totalTime": sum(job.total_duration or 0 for job in jobs),
        "filamentUsed": sum(job.filament_used or 0 for job in jobs),
    }


def expected_buckets(
    jobs: list[JobSpec], key: Callable[[JobSpec], str | None]
) -> dict[str | None, dict[str, Any]]:
    groups: dict[str | None, list[JobSpec]] = defaultdict(list)
    for job in jobs:
        groups[key(job)].append(job)
    return {name: summary(members) for name, members in groups.items()}


def returned_buckets(
    buckets: list[dict[str, Any]], key: Callable[[dict[str, Any]], str | None]
) -> dict[str | None, dict[str, Any]]:
    names = BUCKET_FIELDS.split()[1:]
    return {key(bucket): {name: bucket[name] for name in names} for bucket in buckets}


def stats(gql: GraphQLClient, group_by: str, timezone: str = "UTC", **kw: Any) -> list[Any]:
    variables = {"groupBy": group_by, "timezone": timezone, **kw}
    return gql.execute(STATS, variables)["printStats"]  # type: ignore[no-any-return]


def test_stats_by_printer_sum_each_printers_jobs(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    returned = returned_buckets(stats(gql, "PRINTER"), lambda b: b["printer"]["name"])
    assert returned == expected_buckets(list(JOBS), lambda job: job.printer)


def status_name(job: JobSpec) -> str:
    """The JobStatus name a job reads back with."""
    return job.status.upper() if job.status in MOONRAKER_STATUSES else "UNKNOWN"


def test_stats_by_status_sum_each_statuss_jobs(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    returned = returned_buckets(stats(gql, "STATUS"), lambda b: b["key"])
    assert returned == expected_buckets(list(JOBS), status_name)


def test_statuses_the_api_does_not_name_share_the_unknown_bucket(
    gql: GraphQLClient, database: Database
) -> None:
    jobs = (
        JobSpec("voron", "2026-03-01T10:00:00+00:00", status="paused_forever"),
        JobSpec("voron", "2026-03-02T10:00:00+00:00", status="warped"),
        JobSpec("voron", "2026-03-03T10:00:00+00:00"),
    )
    seed(database, jobs)
    returned = returned_buckets(stats(gql, "STATUS"), lambda b: b["key"])
    assert returned == expected_buckets(list(jobs), status_name)
    assert set(returned) == {"UNKNOWN", "COMPLETED"}


# Each grouping, and the filter field its keys are given back to.
KEY_FILTERS = {"PRINTER": "printerIds", "STATUS": "statuses", "FILAMENT_TYPE": "filamentTypes"}


@pytest.mark.parametrize("group_by", list(KEY_FILTERS))
def test_a_bucket_key_used_as_filter_selects_exactly_that_bucket(
    gql: GraphQLClient, database: Database, group_by: str
) -> None:
    seed(database)
    buckets = [bucket for bucket in stats(gql, group_by) if bucket["key"] is not None]
    refiltered = {
        bucket["key"]: stats(gql, group_by, filter={KEY_FILTERS[group_by]: [bucket["key"]]})
        for bucket in buckets
    }
    assert len(buckets) >= 3
    assert refiltered == {bucket["key"]: [bucket] for bucket in buckets}


def test_printer_keys_are_the_printers_global_ids(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    keys = {bucket["printer"]["name"]: bucket["key"] for bucket in stats(gql, "PRINTER")}
    assert keys == printer_global_ids(gql)


def test_stats_by_filament_type_put_jobs_without_details_under_null(
    gql: GraphQLClient, database: Database
) -> None:
    seed(database)
    returned = returned_buckets(stats(gql, "FILAMENT_TYPE"), lambda b: b["key"])
    assert returned == expected_buckets(list(JOBS), lambda job: job.filament_type)


def test_stats_honour_the_filter(gql: GraphQLClient, database: Database) -> None:
    seed(database)
    voron = printer_global_ids(gql)["voron"]
    job_filter = {"printerIds": [voron], "slicer": "PrusaSlicer"}
    returned = returned_buckets(stats(gql, "STATUS", filter=job_filter), lambda b: b["key"])
    chosen = [job for job in JOBS if job.printer == "voron" and job.slicer == "PrusaSlicer"]
    assert returned == expected_buckets(chosen, status_name)


def _local_day(job: JobSpec, zone: str) -> date:
    return job.start_time.astimezone(ZoneInfo(zone)).date()


CALENDAR_KEYS: dict[str, Callable[[date], date]] = {
    "DAY": lambda day: day,
    "WEEK": lambda day: day - timedelta(days=day.weekday()),  # the ISO week's Monday
    "MONTH": lambda day: day.replace(day=1),
}
CALENDAR = "\n".join(
    f"{name.lower()}: printStats(groupBy: {name}, timezone: $timezone) {{ {BUCKET_FIELDS} }}"
    for name in CALENDAR_KEYS
)


@pytest.mark.parametrize("zone", ZONES)
def test_calendar_buckets_are_local_days_weeks_and_months(
    gql: GraphQLClient, database: Database, zone: str
) -> None:
    seed(database)
    data = gql.execute(f"query ($timezone: String!) {{ {CALENDAR} }}", {"timezone": zone})
    returned = {
        name: returned_buckets(data[name.lower()], lambda b: b["key"]) for name in CALENDAR_KEYS
    }
    expected = {
        name: expected_buckets(list(JOBS), lambda j, k=key: k(_local_day(j, zone)).isoformat())
        for name, key in CALENDAR_KEYS.items()
    }
    assert returned == expected


# (start times, zone, the local days they count on); each case on a printer of its own.
LOCAL_DAYS: dict[str, tuple[list[str], str, list[str]]] = {
    "utc": (["2026-03-10T23:30:00+00:00"], "UTC", ["2026-03-10"]),
    "berlin": (["2026-03-10T23:30:00+00:00"], "Europe/Berlin", ["2026-03-11"]),
    "new-york": (["2026-03-10T02:00:00+00:00"], "America/New_York", ["2026-03-09"]),
    # 22:30Z is 23:30 under CET and 00:30 the next day under CEST
    "berlin-dst": (
        ["2026-03-28T22:30:00+00:00", "2026-03-29T22:30:00+00:00"],
        "Europe/Berlin",
        ["2026-03-28", "2026-03-30"],
    ),
    # 04:30Z is 23:30 the day before under EST, 00:30 under EDT
    "new-york-dst": (
        ["2026-03-08T04:30:00+00:00", "2026-03-09T04:30:00+00:00"],
        "America/New_York",
        ["2026-03-07", "2026-03-09"],
    ),
    "kolkata-half-hour": (
        ["2026-03-10T18:29:00+00:00", "2026-03-10T18:31:00+00:00"],
        "Asia/Kolkata",
        ["2026-03-10", "2026-03-11"],
    ),
}


def test_a_job_counts_on_its_local_day(gql: GraphQLClient, database: Database) -> None:
    with database.scope() as session:
        printers = {case: make_printer(session, case).id for case in LOCAL_DAYS}
        for case, (starts, _, _) in LOCAL_DAYS.items():
            rows = [_row(i, JobSpec(case, start)) for i, start in enumerate(starts)]
            upsert_jobs(session, printers[case], rows)
    ids = printer_global_ids(gql)
    returned = {
        case: sorted(b["key"] for b in stats(gql, "DAY", zone, filter={"printerIds": [ids[case]]}))
        for case, (_, zone, _) in LOCAL_DAYS.items()
    }
    assert returned == {case: days for case, (_, _, days) in LOCAL_DAYS.items()}


def test_an_unknown_timezone_is_refused(gql: GraphQLClient, database: Database) -> None:
    seed(database, JOBS[:2])
    codes = {}
    for group_by in ("DAY", "PRINTER"):
        variables = {"groupBy": group_by, "timezone": "Mars/Olympus_Mons"}
        body = gql.post(STATS, variables).json()
        codes[group_by] = [error["extensions"]["code"] for error in body["errors"]]
    assert codes == {"DAY": ["INVALID_TIMEZONE"], "PRINTER": ["INVALID_TIMEZONE"]}


# --- buckets are a list outside any connection: bounded like one -------------------------

NESTED_PER_BUCKET = (
    "{ printStats(groupBy: PRINTER) { printer { printJobs(first: 100) { nodes {"
    " printer { printJobs(first: 10) { nodes { jobId } } } } } } } }"
)


def test_connections_inside_buckets_are_charged_for_every_bucket(
    gql: GraphQLClient, database: Database
) -> None:
    """The measure charges MAX_LIST_ITEMS buckets, so a connection per bucket cannot
    return more nodes than the limit allows, however many printers there are."""
    body = gql.post(NESTED_PER_BUCKET).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TOO_MANY_NODES"]
    cheap = gql.post("{ printStats(groupBy: PRINTER) { key printer { name } } }").json()
    assert "errors" not in cheap
    assert cheap["extensions"]["cost"]["requested"] == 1 + MAX_LIST_ITEMS


def test_more_buckets_than_measured_are_refused(gql: GraphQLClient, database: Database) -> None:
    with database.scope() as session:
        printer = make_printer(session, "daily")
        session.flush()
        start = datetime(2000, 1, 1, 12, tzinfo=UTC)
        rows = [
            make_job_row(n, start_time=start + timedelta(days=n), end_time=None)
            for n in range(MAX_LIST_ITEMS + 1)
        ]
        upsert_jobs(session, printer.id, rows)
    body = gql.post("{ printStats(groupBy: DAY) { key jobCount } }").json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIST_TOO_LONG"]
    body = gql.post(
        '{ printStats(groupBy: DAY, filter: {startedBefore: "2013-01-01T00:00:00Z"})'
        " { key jobCount } }"
    ).json()
    assert "errors" not in body
    assert len(body["data"]["printStats"]) == (date(2013, 1, 1) - date(2000, 1, 1)).days
