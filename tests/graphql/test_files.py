"""``files``, ``PrintFile``, ``PrintJob.file``: figures and orders equal to what the
inserted jobs add up to, keyset pages, and statements that do not grow with the page."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.services import jobs
from tests.factories import make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient
from tests.graphql.file_farm import JOBS, T0, Farm, Job, seed_farm
from tests.support.sql_counter import count_statements


def _expected(farm: Farm, keep: Callable[[Job], bool] = lambda job: True) -> dict[str, Any]:
    """Each file's figures, computed here from the jobs inserted."""
    found: dict[str, Any] = {}
    for filename in farm.files:
        mine = [job for job in JOBS if job.filename == filename and keep(job)]
        if not mine:
            continue
        completed = [job for job in mine if job.status == "completed"]
        finished = [job for job in mine if job.status != "in_progress"]
        found[filename] = {
            "filename": filename,
            "prints": len(mine),
            "completed": len(completed),
            "successRate": len(completed) / len(finished) if finished else None,
            "averagePrintDuration": (
                sum(job.print_duration or 0 for job in completed) / len(completed)
                if completed
                else None
            ),
            "filamentUsed": sum(job.filament_used or 0 for job in mine),
            "lastPrintedAt": max(job.start for job in mine).isoformat(),
            "printers": sorted({job.printer for job in mine}),
        }
    return found


FIGURES = "filename prints completed successRate averagePrintDuration filamentUsed lastPrintedAt"


def _figures(node: dict[str, Any]) -> dict[str, Any]:
    shown = {key: node[key] for key in FIGURES.split()}
    shown["lastPrintedAt"] = datetime.fromisoformat(node["lastPrintedAt"]).isoformat()
    shown["printers"] = [printer["name"] for printer in node["printers"]]
    return shown


def _close(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float | int):
            if abs(x - y) > 1e-6:
                return False
        elif x != y:
            return False
    return a.keys() == b.keys()


def _files(gql: GraphQLClient, arguments: str = "") -> list[dict[str, Any]]:
    query = f"{{ files{arguments} {{ nodes {{ {FIGURES} printers {{ name }} }} }} }}"
    nodes: list[dict[str, Any]] = gql.execute(query)["files"]["nodes"]
    return nodes


def _by_name(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {node["filename"]: _figures(node) for node in nodes}


def _same_files(shown: dict[str, Any], expected: dict[str, Any]) -> bool:
    return shown.keys() == expected.keys() and all(
        _close(shown[name], expected[name]) for name in expected
    )


def test_files_figures_equal_the_jobs(gql: GraphQLClient, database: Database) -> None:
    farm = seed_farm(database)
    assert _same_files(_by_name(_files(gql)), _expected(farm))


def test_a_printer_filter_sums_only_those_printers_jobs(
    gql: GraphQLClient, database: Database
) -> None:
    farm = seed_farm(database)
    ids = [to_global_id("Printer", farm.printers[name]) for name in ("p1", "p3")]
    shown = _by_name(_files(gql, f'(filter: {{printerIds: ["{ids[0]}", "{ids[1]}"]}})'))
    assert _same_files(shown, _expected(farm, lambda job: job.printer in ("p1", "p3")))


def test_start_bounds_sum_the_jobs_in_range(gql: GraphQLClient, database: Database) -> None:
    farm = seed_farm(database)
    after, before = T0 + timedelta(hours=2), T0 + timedelta(hours=20)
    p2 = to_global_id("Printer", farm.printers["p2"])
    shown = _by_name(
        _files(
            gql,
            f'(filter: {{startedAfter: "{after.isoformat()}", '
            f'startedBefore: "{before.isoformat()}", printerIds: ["{p2}"]}})',
        )
    )
    expected = _expected(farm, lambda job: after < job.start < before and job.printer == "p2")
    # Printers are listed over the file's whole history among printerIds.
    assert {name: figures["printers"] for name, figures in shown.items()} == {
        "benchy.gcode": ["p2"],
        "vase.gcode": ["p2"],
    }
    for figures in expected.values():
        figures["printers"] = ["p2"]
    assert _same_files(shown, expected)


def test_name_contains_ignores_case(gql: GraphQLClient, database: Database) -> None:
    farm = seed_farm(database)
    shown = _by_name(_files(gql, '(filter: {nameContains: "BENCH"})'))
    assert _same_files(shown, {"benchy.gcode": _expected(farm)["benchy.gcode"]})


ORDER_KEYS = {
    "PRINTS": "prints",
    "LAST_PRINTED": "lastPrintedAt",
    "SUCCESS_RATE": "successRate",
    "FILAMENT_USED": "filamentUsed",
}


def _expected_order(
    farm: Farm, field: str, descending: bool, expected: dict[str, Any]
) -> list[str]:
    """Ties by file id in the same direction; NULLs last either way."""
    key = ORDER_KEYS[field]
    present = [name for name in expected if expected[name][key] is not None]
    absent = [name for name in expected if expected[name][key] is None]

    def order(names: list[str], by: Callable[[str], Any]) -> list[str]:
        return sorted(names, key=by, reverse=descending)

    return [
        *order(present, lambda name: (expected[name][key], farm.files[name])),
        *order(absent, lambda name: farm.files[name]),
    ]


@pytest.mark.parametrize("field", list(ORDER_KEYS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("source", ["totals", "per printer", "jobs"])
def test_pages_of_two_follow_the_order_with_ties_by_id(
    gql: GraphQLClient, database: Database, field: str, direction: str, source: str
) -> None:
    """Whichever source answers: the per-file rollups, the per-printer ones (every
    printer named) or the jobs (a start bound before every job)."""
    farm = seed_farm(database)
    filter_text = ""
    if source == "per printer":
        ids = ", ".join(f'"{to_global_id("Printer", pid)}"' for pid in farm.printers.values())
        filter_text = f", filter: {{printerIds: [{ids}]}}"
    elif source == "jobs":
        filter_text = f', filter: {{startedAfter: "{(T0 - timedelta(days=1)).isoformat()}"}}'
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        after = "" if cursor is None else f', after: "{cursor}"'
        page = gql.execute(
            f"{{ files(first: 2, orderBy: {{field: {field}, direction: {direction}}}"
            f"{after}{filter_text}) {{ nodes {{ filename }} "
            "pageInfo { hasNextPage endCursor } } }"
        )["files"]
        seen += [node["filename"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    expected = _expected(farm)
    assert seen == _expected_order(farm, field, direction == "DESC", expected)


def test_a_files_jobs_and_a_jobs_file(gql: GraphQLClient, database: Database) -> None:
    farm = seed_farm(database)
    data = gql.execute(
        "{ files(first: 10) { totalCount nodes { filename printJobs(first: 2) { totalCount "
        "nodes { jobId printer { name } file { filename prints } } } } } }"
    )["files"]
    assert data["totalCount"] == len(farm.files)
    for node in data["nodes"]:
        mine = sorted((j for j in JOBS if j.filename == node["filename"]), key=lambda j: -j.hour)
        page = node["printJobs"]
        assert page["totalCount"] == len(mine)
        assert [(n["jobId"], n["printer"]["name"]) for n in page["nodes"]] == [
            (job.job_id, job.printer) for job in mine[:2]
        ]
        assert {n["file"]["filename"] for n in page["nodes"]} == {node["filename"]}
        assert {n["file"]["prints"] for n in page["nodes"]} == {len(mine)}


def test_a_file_is_a_node(gql: GraphQLClient, database: Database) -> None:
    farm = seed_farm(database)
    global_id = to_global_id("PrintFile", farm.files["vase.gcode"])
    node = gql.execute(f'{{ node(id: "{global_id}") {{ id ... on PrintFile {{ prints }} }} }}')
    assert node["node"] == {"id": global_id, "prints": 2}


def _statements(gql: GraphQLClient, database: Database, query: str) -> int:
    gql.execute("{ viewer { name } }")
    with count_statements(database.engine) as log:
        gql.execute(query)
    return log.count


FILES_QUERY = """{ files(first: 50) { totalCount nodes { filename printers { name }
  printJobs(first: 5) { totalCount nodes { jobId estimateError printer { name }
    file { filename } } } } } }"""


def _many_files(database: Database, files: int, prefix: str) -> None:
    with database.scope() as session:
        printer_ids = [make_printer(session, f"{prefix}{n}").id for n in range(2)]
    for n, printer_id in enumerate(printer_ids):
        rows = [
            make_job_row(100 * n + j, filename=f"{prefix}-{j % files}.gcode")
            for j in range(3 * files)
        ]
        with database.scope() as session:
            jobs.upsert_jobs(session, printer_id, rows)


def test_statements_do_not_grow_with_files_or_jobs(gql: GraphQLClient, database: Database) -> None:
    _many_files(database, 2, "a")
    few = _statements(gql, database, FILES_QUERY)
    _many_files(database, 12, "b")
    assert _statements(gql, database, FILES_QUERY) == few
    # files page, its count, every file's printers, every file's jobs page, their
    # counts, the jobs' printers, their files, their estimate errors; and the key.
    assert few == 9
