"""Costs: versioned filament prices and hourly rates, PrintJob.cost and StatsBucket.cost,
checked against values worked out here from the inserted rows and the prices set."""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.services.jobs import upsert_details, upsert_jobs
from tests.factories import TEST_SECRET, make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.live_server import LiveServer
from tests.support.sql_counter import count_statements

T1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # first PLA price, and the hourly rate
T2 = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # second PLA price
HOUR = timedelta(hours=1)

SET_PRICE = """
mutation Set($input: SetFilamentPriceInput!) {
  setFilamentPrice(input: $input) {
    filamentPrice { filamentType pricePerKg currency densityGPerCm3 diameterMm effectiveFrom }
    userErrors { field message code }
  }
}"""
SET_RATE = """
mutation Rate($input: UpdatePrinterInput!) {
  updatePrinter(input: $input) { printer { hourlyCost } userErrors { field code } }
}"""
JOB_COSTS = """
{ printJobs(first: 50, orderBy: {field: START_TIME, direction: ASC}) { nodes {
    jobId cost { filament machine total currency filamentGrams filamentPriceSource }
} } }"""


class Clock:
    def __init__(self) -> None:
        self.now = T1 - 10 * HOUR

    def __call__(self) -> datetime:
        return self.now


@dataclass
class CostApp:
    gql: GraphQLClient
    clock: Clock
    database: Database


@pytest.fixture
def cost_app(database: Database) -> Iterator[CostApp]:
    clock = Clock()
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET, currency="EUR")
    app = create_app(settings, database=database, clock=clock)
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield CostApp(GraphQLClient(http=http, key=make_key(database)), clock, database)


def set_price(app: CostApp, at: datetime, filament_type: str, price: float, **more: Any) -> Any:
    app.clock.now = at
    variables = {"filamentType": filament_type, "pricePerKg": price, "currency": "EUR", **more}
    return app.gql.execute(SET_PRICE, {"input": variables})["setFilamentPrice"]


def set_rate(app: CostApp, at: datetime, printer_id: int, hourly: float | None) -> Any:
    app.clock.now = at
    gid = printer_gid(app, printer_id)
    variables = {"input": {"id": gid, "hourlyCost": hourly}}
    return app.gql.execute(SET_RATE, variables)["updatePrinter"]


def printer_gid(app: CostApp, printer_id: int) -> str:
    data = app.gql.execute("{ printers(first: 50) { nodes { id databaseId } } }")
    return next(n["id"] for n in data["printers"]["nodes"] if n["databaseId"] == printer_id)


def add_jobs(
    database: Database, printer_id: int, jobs: list[tuple[int, datetime, str | None]]
) -> None:
    """Jobs (index, start, filament type or None) as an import writes them."""
    with database.scope() as session:
        rows = [make_job_row(i, start_time=start, end_time=start + HOUR) for i, start, _ in jobs]
        ids = upsert_jobs(session, printer_id, rows).ids
        details = [
            {"print_job_id": ids[(row["job_id"], row["start_time"])], "filament_type": kind}
            for row, (_, _, kind) in zip(rows, jobs, strict=True)
            if kind is not None
        ]
        upsert_details(session, details)


def grams(length_mm: float, density: float = 1.24, diameter: float = 1.75) -> float:
    return length_mm * math.pi * (diameter / 2) ** 2 / 1000 * density


def filament_cost(index: int, price_per_kg: float, density: float = 1.24) -> float:
    return grams(make_job_row(index)["filament_used"], density) / 1000 * price_per_kg


def costs_by_job(app: CostApp) -> dict[int, Any]:
    nodes = app.gql.execute(JOB_COSTS)["printJobs"]["nodes"]
    return {int(node["jobId"], 16): node["cost"] for node in nodes}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12)


@pytest.fixture
def priced_farm(cost_app: CostApp) -> dict[str, int]:
    """Two printers; PLA priced 20 from T1 and 30 from T2 (density 1.30 then); PETG never.

    Job 5 starts after T2 but is written before the T2 price is set (a printer clock
    ahead of ours): setting the price reprices it."""
    with cost_app.database.scope() as session:
        voron = make_printer(session, "voron").id
        prusa = make_printer(session, "prusa").id
    add_jobs(cost_app.database, voron, [(5, T2 + 2 * HOUR, "PLA")])
    set_price(cost_app, T1, "PLA", 20.0)
    add_jobs(
        cost_app.database,
        voron,
        [
            (1, T1 - HOUR, "PLA"),  # before any PLA price: no filament cost
            (2, T1 + HOUR, "PLA"),  # the first price
            (3, T1 + 2 * HOUR, None),  # no filament type
            (4, T1 + 3 * HOUR, "PETG"),  # a type never priced
        ],
    )
    set_price(cost_app, T2, "pla", 30.0, densityGPerCm3=1.30)  # case ignored
    add_jobs(cost_app.database, prusa, [(6, T2 + HOUR, "Pla")])
    return {"voron": voron, "prusa": prusa}


def test_a_job_costs_the_price_in_force_when_it_started(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    costs = costs_by_job(cost_app)
    expected = {
        1: None,
        2: filament_cost(2, 20.0),
        3: None,
        4: None,
        5: filament_cost(5, 30.0, 1.30),
        6: filament_cost(6, 30.0, 1.30),
    }
    assert all(close(costs[i]["filament"], value) for i, value in expected.items()), costs
    sources = {i: cost["filamentPriceSource"] for i, cost in costs.items()}
    # Nothing priced jobs 1, 3 and 4 (no price, no rate, no spool): no source either.
    assert sources == {
        1: None,
        2: "FILAMENT_TYPE",
        3: None,
        4: None,
        5: "FILAMENT_TYPE",
        6: "FILAMENT_TYPE",
    }


def test_grams_come_from_length_density_and_diameter(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    cost = costs_by_job(cost_app)[6]
    assert close(cost["filamentGrams"], grams(make_job_row(6)["filament_used"], 1.30))
    assert cost["currency"] == "EUR"


def test_a_new_price_leaves_the_jobs_before_it_alone(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    before = costs_by_job(cost_app)
    set_price(cost_app, T2 + 90 * timedelta(minutes=1), "PLA", 99.0)
    after = costs_by_job(cost_app)
    assert after[2] == before[2] and after[6] == before[6]
    assert close(after[5]["filament"], filament_cost(5, 99.0))


def test_machine_cost_uses_the_hourly_rate_in_force_at_the_start(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    voron = priced_farm["voron"]
    payload = set_rate(cost_app, T1 + 90 * timedelta(minutes=1), voron, 1.8)
    assert payload == {"printer": {"hourlyCost": 1.8}, "userErrors": []}
    set_rate(cost_app, T2 + HOUR, voron, 3.6)
    costs = costs_by_job(cost_app)
    total = {i: make_job_row(i)["total_duration"] for i in costs}
    assert costs[2]["machine"] is None  # started at T1+1h, before the rate
    assert close(costs[3]["machine"], total[3] / 3600 * 1.8)
    assert close(costs[5]["machine"], total[5] / 3600 * 3.6)
    assert costs[6]["machine"] is None  # the other printer
    assert close(costs[5]["total"], costs[5]["filament"] + costs[5]["machine"])
    assert costs[3]["total"] == costs[3]["machine"]  # no filament type: machine only


def test_printer_hourly_cost_is_the_rate_in_force_now(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    voron = priced_farm["voron"]
    set_rate(cost_app, T1, voron, 2.5)
    assert set_rate(cost_app, T1 + HOUR, voron, 4.0)["userErrors"] == []
    hourly = cost_app.gql.execute("{ printers(first: 5) { nodes { name hourlyCost } } }")
    assert hourly["printers"]["nodes"] == [
        {"name": "prusa", "hourlyCost": None},
        {"name": "voron", "hourlyCost": 4.0},
    ]
    set_rate(cost_app, T1 + 2 * HOUR, voron, None)
    cleared = cost_app.gql.execute("{ printers(first: 5) { nodes { hourlyCost } } }")
    assert cleared["printers"]["nodes"] == [{"hourlyCost": None}, {"hourlyCost": None}]


STATS = """
query Stats($groupBy: StatsGroupBy!) {
  printStats(groupBy: $groupBy) {
    key jobCount cost { filament machine total currency jobsWithoutFilamentCost }
  }
}"""


@pytest.mark.parametrize("group_by", ["FILAMENT_TYPE", "PRINTER", "DAY", "STATUS"])
def test_stats_sum_the_costs_of_their_jobs(
    cost_app: CostApp, priced_farm: dict[str, int], group_by: str
) -> None:
    set_rate(cost_app, T1, priced_farm["voron"], 1.8)
    jobs = costs_by_job(cost_app)
    buckets = cost_app.gql.execute(STATS, {"groupBy": group_by})["printStats"]
    assert sum(b["jobCount"] for b in buckets) == len(jobs)
    filament = sum(b["cost"]["filament"] for b in buckets)
    machine = sum(b["cost"]["machine"] for b in buckets)
    assert close(filament, sum(c["filament"] or 0.0 for c in jobs.values()))
    assert close(machine, sum(c["machine"] or 0.0 for c in jobs.values()))
    without = sum(b["cost"]["jobsWithoutFilamentCost"] for b in buckets)
    assert without == sum(1 for c in jobs.values() if c["filament"] is None)
    assert {b["cost"]["currency"] for b in buckets} == {"EUR"}


def test_a_filament_bucket_sums_every_spelling_of_its_type(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    buckets = cost_app.gql.execute(STATS, {"groupBy": "FILAMENT_TYPE"})["printStats"]
    by_key = {b["key"]: b["cost"] for b in buckets}
    expected = filament_cost(2, 20.0) + filament_cost(5, 30.0, 1.30) + filament_cost(6, 30.0, 1.30)
    assert close(by_key["PLA"]["filament"], expected)
    assert by_key["PLA"]["jobsWithoutFilamentCost"] == 1  # job 1, before any price
    assert by_key["PETG"] == {
        "filament": 0.0,
        "machine": 0.0,
        "total": 0.0,
        "currency": "EUR",
        "jobsWithoutFilamentCost": 1,
    }


def test_filament_prices_lists_every_version_newest_first(cost_app: CostApp) -> None:
    set_price(cost_app, T1, "PLA", 20.0)
    set_price(cost_app, T1, "ABS", 18.5, diameterMm=2.85)
    set_price(cost_app, T2, "pla", 30.0)
    data = cost_app.gql.execute(
        "{ filamentPrices { filamentType pricePerKg diameterMm effectiveFrom } }"
    )
    assert [
        (p["filamentType"], p["pricePerKg"], p["diameterMm"]) for p in data["filamentPrices"]
    ] == [
        ("ABS", 18.5, 2.85),
        ("pla", 30.0, 1.75),
        ("PLA", 20.0, 1.75),
    ]
    assert datetime.fromisoformat(data["filamentPrices"][1]["effectiveFrom"]) == T2


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"currency": "USD"}, "currency", "CURRENCY_MISMATCH"),
        ({"pricePerKg": -1.0}, "pricePerKg", "OUT_OF_RANGE"),
        ({"densityGPerCm3": 0.0}, "densityGPerCm3", "OUT_OF_RANGE"),
        ({"diameterMm": 11.0}, "diameterMm", "OUT_OF_RANGE"),
        ({"filamentType": "  "}, "filamentType", "INVALID_FILAMENT_TYPE"),
    ],
)
def test_a_bad_price_is_refused_and_nothing_is_stored(
    cost_app: CostApp, changes: dict[str, Any], field: str, code: str
) -> None:
    variables = {"filamentType": "PLA", "pricePerKg": 20.0, "currency": "EUR", **changes}
    payload = cost_app.gql.execute(SET_PRICE, {"input": variables})["setFilamentPrice"]
    assert payload["filamentPrice"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", field], code)]
    assert cost_app.gql.execute("{ filamentPrices { pricePerKg } }") == {"filamentPrices": []}


def test_a_bad_hourly_cost_is_refused(cost_app: CostApp, priced_farm: dict[str, int]) -> None:
    payload = set_rate(cost_app, T1, priced_farm["voron"], -2.0)
    assert payload == {
        "printer": None,
        "userErrors": [{"field": ["input", "hourlyCost"], "code": "OUT_OF_RANGE"}],
    }


def test_setting_a_price_needs_the_write_scope(cost_app: CostApp) -> None:
    read_key = make_key(cost_app.database, scopes="READ", name="reader")
    variables = {"input": {"filamentType": "PLA", "pricePerKg": 20.0, "currency": "EUR"}}
    body = cost_app.gql.post(SET_PRICE, variables, key=read_key).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_job_costs_cost_one_statement_per_page(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    without = "{ printJobs(first: 50) { nodes { jobId } } }"
    engine = cost_app.database.engine
    with count_statements(engine) as plain:
        cost_app.gql.execute(without)
    with count_statements(engine) as costed:
        cost_app.gql.execute(JOB_COSTS)
    assert costed.count == plain.count + 1
    assert len(costed.matching("SELECT job_costs.")) == 1


def test_stats_costs_cost_one_statement_for_every_bucket(
    cost_app: CostApp, priced_farm: dict[str, int]
) -> None:
    plain = "{ printStats(groupBy: DAY) { key jobCount } }"
    with_cost = "{ printStats(groupBy: DAY) { key jobCount cost { total } } }"
    engine = cost_app.database.engine
    with count_statements(engine) as without:
        cost_app.gql.execute(plain)
    with count_statements(engine) as costed:
        buckets = cost_app.gql.execute(with_cost)["printStats"]
    assert len(buckets) > 1
    assert costed.count == without.count + 1
