"""``gql-server serve``: migrate a SQLite database, make the first key, run uvicorn."""

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from gql_server.cli.migrate import upgrade
from gql_server.cli.parser import Commands, add_command
from gql_server.config import ConfigError, Settings, parse_host, parse_int, parse_port
from gql_server.db.opening import database_label, opened_database
from gql_server.db.secret_file import settings_with_secret
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services import api_keys
from gql_server.services.rollups.maintain import stored_zone
from gql_server.web.header_deadline import protocol_class

T = TypeVar("T")


def register(commands: Commands) -> None:
    serve = add_command(commands, "serve", "run the HTTP server (migrates SQLite first)")
    serve.add_argument(
        "--host",
        type=_setting_argument(parse_host, "--host"),
        help="default: GQL_HOST or 127.0.0.1",
    )
    serve.add_argument(
        "--port", type=_setting_argument(parse_port, "--port"), help="default: GQL_PORT or 8000"
    )
    serve.add_argument(
        "--workers",
        type=_setting_argument(_workers, "--workers"),
        default=1,
        help="processes (use MariaDB for >1)",
    )
    serve.add_argument(
        "--no-bootstrap-key",
        action="store_true",
        help="do not create an ADMIN key when no usable key exists",
    )
    serve.set_defaults(handler=run_serve)


def _setting_argument(parse: Callable[[str, str], T], flag: str) -> Callable[[str], T]:
    """An argparse type from one of config.py's parsers: ``flag`` is checked as an
    environment variable would be, with the same message."""

    def convert(text: str) -> T:
        try:
            return parse(text, flag)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _workers(text: str, flag: str) -> int:
    """At least one: uvicorn ran 0 (or -1) as one process, and the summary said 0."""
    return parse_int(text, flag, minimum=1)


def _is_sqlite(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "sqlite"


def bootstrap_key(database: Database) -> None:
    """First run: without any usable key nobody could call the API, so make one."""
    with database.scope() as session:
        if api_keys.has_usable_key(session, utcnow()):
            return
        created = api_keys.create_api_key(session, name="bootstrap admin", scopes="ADMIN")
    banner = "=" * 72
    print(banner)
    print("No API key existed, so an ADMIN key was created. It is shown only now:")
    print(f"    {created.plaintext}")
    print("Use it as the X-API-Key header. Create narrower keys with")
    print("    gql-server api-key create --name NAME --scope READ")
    print("(or the createApiKey mutation, with this key).")
    print(banner, flush=True)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn settings that follow from our transport settings.

    Forwarded headers are believed only from GQL_TRUSTED_PROXIES. uvicorn's default
    believes 127.0.0.1, so anything that reached us over loopback could pick the address
    the failed-key throttle sees; and an explicit list keeps uvicorn from reading
    FORWARDED_ALLOW_IPS from the environment behind our back. limit_concurrency answers
    503 beyond GQL_MAX_CONNECTIONS connections (or tasks) per process; a connection
    must send each request's headers within GQL_BODY_TIMEOUT (web/header_deadline.py),
    so idle sockets cannot hold those places.
    """
    return {
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies),
        "limit_concurrency": settings.max_connections,
        "http": protocol_class(),
        "timeout_keep_alive": settings.body_timeout,
        # GraphQL subscriptions (web/subscriptions.py): the sans-I/O implementation of the
        # websockets package we already depend on, and no frame larger than a request body.
        "ws": "websockets-sansio",
        "ws_max_size": settings.max_body_bytes,
    }


def serve_summary(settings: Settings, host: str, port: int, workers: int) -> str:
    """What ``serve`` is about to do, printed before uvicorn starts: the database it
    uses and which features are on, so a wrong DATABASE_URL or a forgotten
    GQL_INTROSPECTION=false shows on the first screen."""
    shown = f"[{host}]" if ":" in host else host
    endpoint = f"http://{shown}:{port}/graphql"
    interval = settings.sync_interval
    rows = [
        ("database", database_label(settings.database_url)),
        ("GraphQL", endpoint),
        ("GraphiQL", f"on: open {endpoint} in a browser" if settings.graphiql else "off"),
        ("introspection", "on" if settings.introspection else "off"),
        (
            "periodic sync",
            f"every {interval:g} s, {settings.sync_concurrency} printers at once"
            if interval > 0
            else "off (GQL_SYNC_INTERVAL=0)",
        ),
        ("live mode", _live_label(settings, workers)),
        ("workers", str(workers)),
        ("broker", _broker_label(settings, workers)),
    ]
    return "\n".join(f"{name + ':':<15}{value}" for name, value in rows)


def _live_label(settings: Settings, workers: int) -> str:
    if not settings.live:
        return "off (GQL_LIVE=false)"
    if workers > 1:
        return (
            "on: one Moonraker websocket per active printer, shared by the workers "
            "(a lease in the database)"
        )
    return "on: one Moonraker websocket per active printer"


def _broker_label(settings: Settings, workers: int) -> str:
    if settings.broker_url is not None:
        return f"Redis pub/sub at {_without_password(settings.broker_url)}"
    if workers > 1 and settings.live:
        return (
            "none (GQL_BROKER_URL unset): each worker's events stay in it, so a "
            "subscriber misses the printers another worker holds"
        )
    return "none (one process: not needed)"


def _without_password(url: str) -> str:
    """The summary shows where events go, never the broker's password."""
    scheme, _, rest = url.partition("://")
    _, at, host = rest.rpartition("@")
    return f"{scheme}://{'***@' if at else ''}{host}"


def stale_rollups_warning(database: Database, settings: Settings) -> str | None:
    """Said once at start-up: rollups built for another zone than GQL_TIMEZONE still
    answer in UTC and in their own zone, but GQL_TIMEZONE's days need a rebuild."""
    with database.scope() as session:
        built = stored_zone(session.connection())
    if built == settings.timezone:
        return None
    return (
        f"warning: the statistics rollups were built for {built}, GQL_TIMEZONE is "
        f"{settings.timezone}: run `gql-server rollups rebuild` (until then printStats "
        f"in {settings.timezone} reads every job)"
    )


def run_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    sqlite = _is_sqlite(settings)  # a first run on the default just works
    with opened_database(settings.database_url, for_migration=sqlite) as database:
        if sqlite:
            upgrade(database)
        settings = settings_with_secret(settings)  # a first run on SQLite creates the file
        if not args.no_bootstrap_key:
            bootstrap_key(database)
        stale = stale_rollups_warning(database, settings)
    print(serve_summary(settings, host, port, args.workers), flush=True)
    if args.workers > 1 and settings.live and settings.broker_url is None:
        print(
            "warning: several workers without GQL_BROKER_URL: live events stay in the "
            "worker that holds each printer's socket (set GQL_BROKER_URL=redis://…)",
            file=sys.stderr,
            flush=True,
        )
    if stale is not None:
        print(stale, file=sys.stderr, flush=True)
    uvicorn.run(
        "gql_server.app:create_served_app",
        factory=True,
        log_config=None,
        host=host,
        port=port,
        workers=args.workers,
        log_level="info",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace),
        **uvicorn_options(settings),
    )
    return 0
