"""Prometheus metrics: GraphQL operations, errors by code, syncs, fleet job counts.

prometheus_client is used rather than hand-written exposition text: histograms,
label escaping and the text format are easy to get subtly wrong. Each app has its own
registry (tests build many apps). With ``--workers N`` every process reports its own
counters; scrape each process, or run one worker per container.
"""

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from gql_server.services.live.state import Connection

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gql_requests", "GraphQL operations executed", ["operation"], registry=self.registry
        )
        self.latency = Histogram(
            "gql_request_duration_seconds",
            "GraphQL operation latency",
            ["operation"],
            registry=self.registry,
        )
        self.errors = Counter(
            "gql_errors", "Errors returned to clients, by code", ["code"], registry=self.registry
        )
        self.sync_runs = Counter(
            "gql_sync_runs", "Printer syncs, by outcome", ["printer", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        # Which process answered: with --workers N each request or scrape reaches one.
        Gauge(
            "gql_process", "This server process (1); its pid as a label", ["pid"],
            registry=self.registry,
        ).labels(pid=str(os.getpid())).set(1)  # fmt: skip
        self.jobs_imported = Counter(
            "gql_sync_jobs_imported", "Jobs created by syncs", ["printer"], registry=self.registry
        )

    def count_error(self, code: str) -> None:
        self.errors.labels(code=code).inc()

    def observe_sync_result(self, result: Any) -> None:
        """``result``: a services.sync.SyncResult."""
        printer = result.printer_name or str(result.printer_id)
        outcome = "succeeded" if result.ok else result.error_code
        self.sync_runs.labels(printer=printer, outcome=outcome).inc()
        if result.counts.jobs_created:
            self.jobs_imported.labels(printer=printer).inc(result.counts.jobs_created)

    def add_fleet_collector(
        self, read_counts: Callable[[], Iterable[tuple[str, str, int]]]
    ) -> None:
        self.registry.register(FleetJobs(read_counts))

    def add_live_collector(self, read_figures: Callable[[], "LiveFigures"]) -> None:
        self.registry.register(LiveMetrics(read_figures))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class FleetJobs(Collector):
    """Job counts per printer and status, read from the database at scrape time."""

    def __init__(self, read_counts: Callable[[], Iterable[tuple[str, str, int]]]) -> None:
        self.read_counts = read_counts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "gql_fleet_jobs", "Jobs stored, per printer and status", labels=["printer", "status"]
        )
        for printer, status, count in self.read_counts():
            family.add_metric([printer, status], count)
        yield family

    def describe(self) -> list[Metric]:
        return []


BROKER_STATES = ("CONNECTING", "CONNECTED", "UNREACHABLE")


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """This worker's live mode at scrape time (plain values: no import of services)."""

    connections: dict[str, int]  # printers whose socket this worker holds, by state
    reconnects: int
    events: dict[str, int]  # hub events by source: this_worker, broker
    subscriptions: int
    broker_state: str | None  # None without GQL_BROKER_URL


class LiveMetrics(Collector):
    """Read from the live service and the hub at scrape time: they keep the counts."""

    def __init__(self, read_figures: Callable[[], LiveFigures]) -> None:
        self.read_figures = read_figures

    def collect(self) -> Iterator[Metric]:
        figures = self.read_figures()
        printers = GaugeMetricFamily(
            "gql_live_printers",
            "Printers whose Moonraker websocket this worker holds, by connection state",
            labels=["connection"],
        )
        for state in Connection:
            printers.add_metric([state], figures.connections.get(state, 0))
        yield printers
        yield CounterMetricFamily(
            "gql_live_reconnects", "Moonraker websocket attempts after the first, per printer",
            value=figures.reconnects,
        )  # fmt: skip
        events = CounterMetricFamily(
            "gql_live_events", "Live events handed to this worker's hub, by source",
            labels=["source"],
        )  # fmt: skip
        for source, count in sorted(figures.events.items()):
            events.add_metric([source], count)
        yield events
        yield GaugeMetricFamily(
            "gql_subscriptions_open", "Event hub subscribers (GraphQL subscriptions) open",
            value=figures.subscriptions,
        )  # fmt: skip
        if figures.broker_state is not None:
            broker = GaugeMetricFamily(
                "gql_broker_state", "The broker connection (GQL_BROKER_URL): 1 for its state",
                labels=["state"],
            )  # fmt: skip
            for broker_state in BROKER_STATES:
                broker.add_metric([broker_state], int(figures.broker_state == broker_state))
            yield broker

    def describe(self) -> list[Metric]:
        return []


# Operation names come from clients: a bounded set of label values keeps a client
# from growing the server's memory with endless new series.
MAX_OPERATION_LABELS = 200
OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")


def operation_metrics(metrics: Metrics) -> Callable[[], SchemaExtension]:
    """A factory of per-request extensions that count and time each operation."""
    seen: set[str] = set()

    def label(name: str | None) -> str:
        if name is None:
            return "anonymous"
        if not OPERATION_NAME.match(name):
            return "invalid"
        if name not in seen and len(seen) >= MAX_OPERATION_LABELS:
            return "other"
        seen.add(name)
        return name

    class OperationMetrics(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            started = time.perf_counter()
            yield
            name = label(self.execution_context.operation_name)
            metrics.requests.labels(operation=name).inc()
            metrics.latency.labels(operation=name).observe(time.perf_counter() - started)
            result: Any = self.execution_context.result
            for error in getattr(result, "errors", None) or []:
                code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
                metrics.errors.labels(code=str(code)).inc()

    return OperationMetrics


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    body = await to_thread.run_sync(metrics.exposition)  # the fleet collector queries SQL
    return Response(body, media_type=CONTENT_TYPE)
