"""The Starlette application factory: routes, state and lifespan."""

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import datetime, timedelta

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gql_server.config import Settings, load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.secret_file import settings_with_secret
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.graphql.extensions import Limits
from gql_server.graphql.runtime.execution import warn_if_fast_path_unsupported
from gql_server.graphql.schema import build_schema
from gql_server.moonraker.live import LiveOptions
from gql_server.observability.logs import configure_logging
from gql_server.observability.metrics import (
    LiveFigures,
    Metrics,
    metrics_endpoint,
    operation_metrics,
)
from gql_server.observability.request_id import RequestIdMiddleware
from gql_server.services import job_queries
from gql_server.services.export_formats import FORMATS
from gql_server.services.live import EventHub, LiveService, LiveServiceOptions
from gql_server.services.live.broker import BrokeredHub
from gql_server.services.live.sync_events import publish_syncs
from gql_server.services.sync import PeriodicSync, Syncer, syncer_from_settings
from gql_server.web.auth import AuthGate
from gql_server.web.exit_signal import on_exit_signal, stop_syncs_on_exit
from gql_server.web.export import EXPORT_NAME, PrintJobExport
from gql_server.web.framing import RequestFramingGuard
from gql_server.web.graphiql import graphiql_static_mount
from gql_server.web.graphql_view import GraphQLView
from gql_server.web.health import healthz, readyz
from gql_server.web.request_limits import RequestLimits
from gql_server.web.security_headers import SecurityHeadersMiddleware
from gql_server.web.subscriptions import SocketRules
from gql_server.web.throttle import FailureThrottle


def limits_from(settings: Settings) -> Limits:
    return Limits(**{field.name: getattr(settings, field.name) for field in fields(Limits)})


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
    throttle: FailureThrottle | None = None,
    syncer: Syncer | None = None,
    live_options: LiveServiceOptions | None = None,
) -> Starlette:
    """Build the app; tests pass their own database, clock, throttle and live timings."""
    settings = settings or load_settings()
    owns_database = database is None
    database = database or Database(create_db_engine(settings.database_url))
    metrics = Metrics()
    count_refusal = metrics.count_error
    if settings.fast_path:
        warn_if_fast_path_unsupported()
    schema = build_schema(limits_from(settings), [operation_metrics(metrics)])
    view = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        # Only graphql-transport-ws: the legacy graphql-ws protocol would skip our rules.
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout),
        max_subscriptions_per_connection=settings.max_subscriptions_per_socket,
    )
    # One throttle for every authenticated route: failures count together.
    throttle = throttle or FailureThrottle()
    gate = AuthGate(
        view, database=database, throttle=throttle, clock=clock, on_refusal=count_refusal
    )
    view.socket_rules = SocketRules(
        gate.authenticate, keepalive=settings.ws_keepalive, on_refusal=count_refusal
    )
    endpoint = RequestLimits(
        gate,
        max_body_bytes=settings.max_body_bytes,
        max_tokens=settings.max_tokens,
        body_timeout=settings.body_timeout,
        on_refusal=count_refusal,
    )
    metrics.add_fleet_collector(lambda: database.scope_run(job_queries.count_by_printer_and_status))
    # With GQL_BROKER_URL every event also crosses to the other workers (services/live/broker.py).
    hub = BrokeredHub(settings.broker_url) if settings.broker_url else EventHub()
    live_options = live_options or LiveServiceOptions(
        # The live sockets obey GQL_MOONRAKER_ALLOWED_NETWORKS as the syncs' requests do.
        socket=LiveOptions(allowed_networks=settings.moonraker_allowed_networks),
        lease=timedelta(seconds=settings.sync_lease),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        syncer: Syncer = app.state.syncer
        try:
            async with anyio.create_task_group() as tasks:
                if schema.document_preparer is not None:
                    pool = schema.document_preparer.pool
                    tasks.start_soon(anyio.to_thread.run_sync, pool.start)
                if isinstance(hub, BrokeredHub):
                    tasks.start_soon(hub.run)
                periodic = None
                if settings.sync_interval > 0:
                    periodic = PeriodicSync(syncer, settings.sync_interval)
                    tasks.start_soon(periodic.run)
                app.state.periodic_sync = periodic
                live = None
                if settings.live:
                    live = LiveService(syncer, live_options, hub=hub, clock=clock)
                    tasks.start_soon(live.run)
                app.state.live = live
                exiting, stopped = anyio.Event(), anyio.Event()
                undo = on_exit_signal(exiting.set)
                tasks.start_soon(stop_syncs_on_exit, exiting, stopped, syncer, periodic, settings)
                try:
                    yield
                finally:
                    undo()
                if exiting.is_set():
                    # uvicorn runs this as soon as no request is in flight: a periodic
                    # sync still gets the grace the signal gave it.
                    await stopped.wait()
                if live is not None:
                    await live.stop()
                syncer.cancel_running()  # any left (requests are over by now)
                if periodic is not None:
                    await periodic.stop()
                tasks.cancel_scope.cancel()
        finally:
            if owns_database:
                database.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),  # web/subscriptions.py authenticates
            *(
                Route(
                    f"/export/{EXPORT_NAME}.{name}",
                    AuthGate(
                        PrintJobExport(fmt, database=database, on_refusal=count_refusal),
                        database=database,
                        throttle=throttle,
                        clock=clock,
                        on_refusal=count_refusal,
                        serves_ide=False,
                    ),
                    methods=["GET"],
                )
                for name, fmt in FORMATS.items()
            ),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            *([graphiql_static_mount()] if settings.graphiql else []),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(RequestFramingGuard, on_refusal=count_refusal),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.state.metrics = metrics
    app.state.live = None  # the LiveService while the lifespan runs with GQL_LIVE on
    app.state.hub = hub  # live events (of every worker when a broker is set), sync progress
    metrics.add_live_collector(lambda: live_figures(app))
    app.state.syncer = syncer or syncer_from_settings(database, settings, clock)
    publish_syncs(app.state.syncer, hub, metrics.observe_sync_result)
    return app


def live_figures(app: Starlette) -> LiveFigures:
    hub: EventHub = app.state.hub
    live: LiveService | None = app.state.live
    brokered = hub if isinstance(hub, BrokeredHub) else None
    relayed = 0 if brokered is None else brokered.relayed
    return LiveFigures(
        connections={} if live is None else live.connection_counts(),
        reconnects=0 if live is None else live.reconnects,
        events={"this_worker": hub.published - relayed, "broker": relayed},
        subscriptions=hub.subscriber_count,
        broker_state=None if brokered is None else brokered.state,
    )


def create_served_app() -> Starlette:
    """The factory ``gql-server serve`` gives uvicorn: every worker process configures
    its logging from the settings, then builds the app."""
    settings = settings_with_secret(load_settings())  # `serve` created the SQLite file
    configure_logging(settings.log_format)
    app = create_app(settings)
    # What start-up built (schema, models, libraries) lives as long as the process; frozen,
    # it is no longer walked by every full garbage collection, which stops the event loop
    # meanwhile (bench/hostile_documents.py measures it).
    gc.freeze()
    return app
