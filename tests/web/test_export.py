"""GET /export/print-jobs.csv and .ndjson: printJobs' rows as a file, over real HTTP."""

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.graphql.job_export import COLUMN_NAMES
from gql_server.services.export_formats import FORMULA_GUARD
from tests.factories import TEST_SECRET
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.export_jobs import seed_jobs
from tests.support.live_server import LiveServer


@pytest.fixture
def server(database: Database) -> Iterator[LiveServer]:
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET)
    with LiveServer(create_app(settings, database=database), name="gql-server") as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture
def read_key(database: Database) -> str:
    return make_key(database, "READ", name="reader")


# ------------------------------------------------------------------ what printJobs answers


def _selection(names: tuple[str, ...]) -> str:
    """The export's columns as a printJobs selection: ``printer.name`` -> printer { name }."""
    top = [name for name in names if "." not in name]
    nested: dict[str, list[str]] = {}
    for name in names:
        if "." in name:
            parent, child = name.split(".")
            nested.setdefault(parent, []).append(child)
    parts = top + [f"{parent} {{ {' '.join(children)} }}" for parent, children in nested.items()]
    return " ".join(parts)


QUERY = (
    "query($filter: PrintJobFilter, $order: PrintJobOrder, $after: String) {"
    " printJobs(first: 100, after: $after, filter: $filter, orderBy: $order) {"
    f" nodes {{ {_selection(COLUMN_NAMES)} }} pageInfo {{ hasNextPage endCursor }} }} }}"
)


def graphql_rows(gql: GraphQLClient, job_filter: dict[str, Any], order: dict[str, Any]) -> Any:
    """Every node of printJobs, page by page, flattened to the export's columns."""
    rows, after = [], None
    while True:
        variables = {"filter": job_filter, "order": order, "after": after}
        page = gql.execute(QUERY, variables)["printJobs"]
        rows += [_flat(node) for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


def _flat(node: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for name in COLUMN_NAMES:
        parent, _, child = name.partition(".")
        value = node[parent]
        values[name] = value if not child else (None if value is None else value[child])
    return values


def as_csv_cell(value: Any) -> str:
    """The rule the export promises, applied to GraphQL's value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return FORMULA_GUARD + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
    return str(value)


def url_parameters(job_filter: dict[str, Any], order: dict[str, Any]) -> httpx.QueryParams:
    parameters = [
        (name, item)
        for name, value in job_filter.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    if "field" in order:
        parameters.append(("orderBy", order["field"]))
    if "direction" in order:
        parameters.append(("direction", order["direction"]))
    return httpx.QueryParams(parameters)


def parsed_csv(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


# --------------------------------------------------------------------------------- tests

CASES = [
    ({}, {}),
    ({}, {"field": "END_TIME", "direction": "ASC"}),
    ({"statuses": ["COMPLETED", "UNKNOWN"]}, {"field": "FILAMENT_USED", "direction": "DESC"}),
    ({"filenameContains": "ケース"}, {"field": "DURATION", "direction": "ASC"}),
    ({"filamentTypes": ["pla"], "slicer": "prusaslicer"}, {"field": "START_TIME"}),
    ({"user": "renée", "startedAfter": "2026-01-02T00:00:00+02:00"}, {"direction": "ASC"}),
    ({"startedBefore": "2026-01-02T13:00:00"}, {"field": "END_TIME", "direction": "DESC"}),
]


@pytest.mark.parametrize(("job_filter", "order"), CASES)
def test_csv_parses_back_to_the_rows_of_print_jobs(
    database: Database, http: httpx.Client, read_key: str, job_filter: Any, order: Any
) -> None:
    seed_jobs(database)
    expected = graphql_rows(GraphQLClient(http, read_key), job_filter, order)
    response = http.get(
        "/export/print-jobs.csv",
        params=url_parameters(job_filter, order),
        headers={"X-API-Key": read_key},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv; charset=utf-8")
    header, *rows = parsed_csv(response)
    assert header == list(COLUMN_NAMES)
    assert rows == [[as_csv_cell(row[name]) for name in COLUMN_NAMES] for row in expected]
    assert len(rows) > 1  # every case matches jobs


def test_printer_ids_filter_the_export_as_they_filter_print_jobs(
    database: Database, http: httpx.Client, read_key: str
) -> None:
    first, _, third = seed_jobs(database, count=60)
    wanted = [to_global_id("Printer", first), to_global_id("Printer", third)]
    job_filter = {"printerIds": wanted}
    expected = graphql_rows(GraphQLClient(http, read_key), job_filter, {})
    response = http.get(
        "/export/print-jobs.csv",
        params=url_parameters(job_filter, {}),
        headers={"X-API-Key": read_key},
    )
    rows = parsed_csv(response)[1:]
    assert [row[0] for row in rows] == [row["id"] for row in expected]
    assert {row[COLUMN_NAMES.index("printer.id")] for row in rows} == set(wanted)


def test_ndjson_lines_are_the_nodes_of_print_jobs_with_their_types(
    database: Database, http: httpx.Client, read_key: str
) -> None:
    seed_jobs(database, count=120)
    order = {"field": "FILAMENT_USED", "direction": "ASC"}
    expected = graphql_rows(GraphQLClient(http, read_key), {}, order)
    response = http.get(
        "/export/print-jobs.ndjson",
        params=url_parameters({}, order),
        headers={"X-API-Key": read_key},
    )
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.content.decode("utf-8").split("\n")
    assert lines[-1] == ""  # every line ends with a newline
    assert [json.loads(line) for line in lines[:-1]] == expected


def test_cells_a_spreadsheet_would_run_start_with_a_quote_and_numbers_stay_numbers(
    database: Database, http: httpx.Client, read_key: str
) -> None:
    seed_jobs(database, count=14)
    response = http.get(
        "/export/print-jobs.csv",
        params={"orderBy": "START_TIME", "direction": "ASC"},
        headers={"X-API-Key": read_key},
    )
    rows = [dict(zip(COLUMN_NAMES, row, strict=True)) for row in parsed_csv(response)[1:]]
    by_job = {int(row["jobId"], 16): row for row in rows}
    assert by_job[2]["filename"] == '\'=HYPERLINK("http://x")_2.gcode'
    assert by_job[0]["printer.name"] == "'=cmd|' /C calc'!A0"
    assert by_job[0]["user"] == "'-admin"
    assert by_job[0]["jobDetails.infillPattern"] == "'=gyroid"
    assert by_job[13]["filamentUsed"] == "-12.5"  # a negative number is a number
    assert by_job[7]["jobDetails.estimatedFilament"] == "-1.5"


def test_non_ascii_filenames_arrive_as_utf8_without_a_byte_order_mark(
    database: Database, http: httpx.Client, read_key: str
) -> None:
    seed_jobs(database, count=2)
    response = http.get(
        "/export/print-jobs.csv", params={"direction": "ASC"}, headers={"X-API-Key": read_key}
    )
    assert not response.content.startswith(b"\xef\xbb\xbf")
    assert "Lüfterabdeckung_0.gcode".encode() in response.content
    filenames = [row[COLUMN_NAMES.index("filename")] for row in parsed_csv(response)[1:]]
    assert filenames == ["Lüfterabdeckung_0.gcode", 'ケース, "quoted"\nline_1.gcode']
    assert response.content.endswith(b"\r\n")


@pytest.mark.parametrize("suffix", ["csv", "ndjson"])
def test_without_a_key_the_export_is_401(http: httpx.Client, suffix: str) -> None:
    response = http.get(f"/export/print-jobs.{suffix}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_unknown_key_is_401_and_a_key_in_the_url_is_not_read(
    database: Database, http: httpx.Client, read_key: str
) -> None:
    wrong = http.get("/export/print-jobs.csv", headers={"X-API-Key": read_key + "x"})
    in_url = http.get("/export/print-jobs.csv", params={"apiKey": read_key})
    assert (wrong.status_code, in_url.status_code) == (401, 401)


def test_a_key_without_read_scope_is_403(database: Database, http: httpx.Client) -> None:
    writer = make_key(database, "WRITE", name="writer")
    response = http.get("/export/print-jobs.ndjson", headers={"Authorization": f"Bearer {writer}"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


BAD = [
    ({"status": "COMPLETED"}, "UNKNOWN_PARAMETER", "status"),
    ({"statuses": "DONE"}, "BAD_PARAMETER", "statuses"),
    ({"failureReasons": "GREMLINS"}, "BAD_PARAMETER", "failureReasons"),
    ({"orderBy": "NAME"}, "BAD_PARAMETER", "orderBy"),
    ({"direction": "down"}, "BAD_PARAMETER", "direction"),
    ({"startedAfter": "last week"}, "BAD_PARAMETER", "startedAfter"),
    ({"startedBefore": "9999-12-31T23:59:59-14:00"}, "OUT_OF_RANGE", "startedBefore"),
    ({"printerIds": "not-an-id"}, "INVALID_ID", "printerIds"),
    ({"filenameContains": "x" * 201}, "TOO_LONG", "filenameContains"),
    ([("statuses", "COMPLETED")] * 101, "TOO_LONG", "statuses"),
    ([("user", "a"), ("user", "b")], "REPEATED_PARAMETER", "user"),
]


@pytest.mark.parametrize(("parameters", "code", "field"), BAD)
def test_a_bad_parameter_is_400_with_its_code_and_name(
    database: Database, http: httpx.Client, read_key: str, parameters: Any, code: str, field: str
) -> None:
    response = http.get(
        "/export/print-jobs.csv", params=parameters, headers={"X-API-Key": read_key}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (code, field)
    assert "Traceback" not in response.text


def test_a_failure_after_the_first_bytes_cuts_the_transfer_short(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """SQLite alone: the table dropped to make the batches fail would be missing from
    the session's shared MariaDB database for the tests after this one."""
    shutil.copyfile(sqlite_template, tmp_path / "broken.db")
    database = Database(create_db_engine(f"sqlite:///{tmp_path / 'broken.db'}"))
    key = make_key(database, "READ")
    seed_jobs(database, count=3)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE job_details")
    app = create_app(Settings(database_url="sqlite://", secret_key=TEST_SECRET), database=database)
    try:
        with (
            LiveServer(app, name="gql-server") as live,
            httpx.stream(
                "GET", f"{live.url}/export/print-jobs.csv", headers={"X-API-Key": key}
            ) as response,
        ):
            assert response.status_code == 200  # sent with the header row
            with pytest.raises(httpx.RemoteProtocolError):
                response.read()
    finally:
        database.dispose()


def test_head_answers_the_headers_of_get_without_a_body(
    database: Database, http: httpx.Client, read_key: str
) -> None:
    seed_jobs(database, count=3)
    head = http.head("/export/print-jobs.csv", headers={"X-API-Key": read_key})
    assert head.status_code == 200
    assert head.headers["content-disposition"] == 'attachment; filename="print-jobs.csv"'
    assert head.content == b""


def test_the_file_is_neither_cached_nor_sniffed(http: httpx.Client, read_key: str) -> None:
    response = http.get("/export/print-jobs.ndjson", headers={"X-API-Key": read_key})
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
