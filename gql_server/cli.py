"""The ``gql-server`` command: serve, migrate, API keys, sync, schema export."""

import argparse
import math
import re
import sys
import textwrap
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from gql_server.config import ConfigError, Settings, load_settings, parse_host, parse_port
from gql_server.db.faults import describe
from gql_server.db.migrate import (
    current_revision,
    head_revision,
    pending_revisions,
    upgrade_to_head,
)
from gql_server.db.models import ApiKey
from gql_server.db.opening import DatabaseNotMigrated, database_label, opened_database
from gql_server.db.secret_file import settings_with_secret
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services import api_keys
from gql_server.services.auth import Scope, format_scopes, ordered_scopes, parse_scopes
from gql_server.services.errors import ServiceError
from gql_server.text_table import format_table
from gql_server.web.header_deadline import protocol_class

DATABASE = ("DATABASE_URL",)
SECRET = ("GQL_SECRET_KEY",)
SYNC = ("GQL_SYNC_CONCURRENCY", "GQL_SYNC_LEASE", "GQL_MOONRAKER_ALLOWED_NETWORKS")
# What each command reads; tests/test_cli.py checks serve's list against load_settings.
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "migrate": (*DATABASE, *SECRET),
    "serve": (
        *DATABASE,
        *("GQL_HOST", "GQL_PORT", "GQL_SYNC_INTERVAL", *SYNC, *SECRET),
        *("GQL_INTROSPECTION", "GQL_GRAPHIQL", "GQL_LOG_FORMAT", "GQL_MAX_DEPTH"),
        *("GQL_MAX_ALIASES", "GQL_MAX_TOKENS", "GQL_MAX_NODES", "GQL_MAX_COST"),
        *("GQL_MAX_BODY_BYTES", "GQL_PREPARE_TIMEOUT", "GQL_BODY_TIMEOUT"),
        *("GQL_MAX_CONNECTIONS", "GQL_TRUSTED_PROXIES", "GQL_SHUTDOWN_GRACE", "GQL_FAST_PATH"),
    ),
    "api-key": DATABASE,
    "sync": (*DATABASE, *SECRET, *SYNC),
    "rotate-secret": (*DATABASE, *SECRET),
    "export-schema": (),
}
DATABASE_URL_NOTE = "  (DATABASE_URL defaults to sqlite:///gql_server.db, in the working directory)"

DURATION = re.compile(r"^(\d+)([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# Far enough for any key, near enough that now + lifetime stays a date.
MAX_KEY_LIFETIME = timedelta(days=36_525)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``: the lifetime of a new key."""
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30d, 12h or 90m")
    amount, unit = match.groups()
    try:
        duration = timedelta(**{UNITS[unit]: int(amount)})
    except OverflowError:
        duration = MAX_KEY_LIFETIME + timedelta(days=1)
    if duration > MAX_KEY_LIFETIME:
        raise argparse.ArgumentTypeError(f"{text!r} is longer than 100 years; omit it for never")
    return duration


def _port_argument(text: str) -> int:
    try:
        return parse_port(text, "--port")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _host_argument(text: str) -> str:
    try:
        return parse_host(text, "--host")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _is_sqlite(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "sqlite"


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    with opened_database(settings.database_url, for_migration=True) as database:
        print(f"database: {database_label(settings.database_url)}", flush=True)
        pending = _upgrade(database)
    verdict = "now" if pending else "already"
    print(f"the database is {verdict} at the newest revision, {head_revision()}")
    return 0


def _upgrade(database: Database) -> list[tuple[str, str]]:
    """Apply what is missing, saying which revisions (so a no-op reads as one)."""
    pending = pending_revisions(current_revision(database.engine))
    upgrade_to_head(database.engine)
    for revision, message in pending:
        print(f"applied {revision}: {message}", flush=True)
    return pending


def _bootstrap_key(database: Database) -> None:
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
        ("workers", str(workers)),
    ]
    return "\n".join(f"{name + ':':<15}{value}" for name, value in rows)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    sqlite = _is_sqlite(settings)  # a first run on the default just works
    with opened_database(settings.database_url, for_migration=sqlite) as database:
        if sqlite:
            _upgrade(database)
        settings = settings_with_secret(settings)  # a first run on SQLite creates the file
        if not args.no_bootstrap_key:
            _bootstrap_key(database)
    print(serve_summary(settings, host, port, args.workers), flush=True)
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


def _key_create(settings: Settings, args: argparse.Namespace) -> int:
    expires_at = None if args.expires_in is None else utcnow() + args.expires_in
    with opened_database(settings.database_url) as database, database.scope() as session:
        created = api_keys.create_api_key(
            session,
            name=args.name,
            scopes=format_scopes(Scope(s) for s in args.scope),
            expires_at=expires_at,
        )
        prefix, scopes = created.api_key.key_prefix, created.api_key.scopes
    print(f"created key {prefix}… ({args.name}; scopes {scopes}; expires {_moment(expires_at)})")
    print(created.plaintext)  # alone on the last line, for scripts
    return 0


def _key_list(settings: Settings, _args: argparse.Namespace) -> int:
    with opened_database(settings.database_url) as database, database.scope() as session:
        rows = [_key_row(key) for key in api_keys.list_api_keys(session)]
    print(format_table(("PREFIX", "NAME", "SCOPES", "ACTIVE", "EXPIRES", "LAST USED"), rows))
    return 0


def _key_row(key: ApiKey) -> tuple[str, ...]:
    return (
        key.key_prefix,
        key.name,
        ",".join(s.value for s in ordered_scopes(parse_scopes(key.scopes))),
        "yes" if key.is_active else "no",
        _moment(key.expires_at),
        _moment(key.last_used),
    )


def _moment(at: datetime | None) -> str:
    return "never" if at is None else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _key_revoke(settings: Settings, args: argparse.Namespace) -> int:
    with opened_database(settings.database_url) as database, database.scope() as session:
        key = api_keys.find_by_prefix_or_name(session, args.key)
        api_keys.revoke_api_key(session, key.id)
        prefix = key.key_prefix
    print(f"revoked key {prefix}…")
    return 0


def _export_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    from gql_server.schema import schema

    print(schema.as_str())
    return 0


def _sync(settings: Settings, args: argparse.Namespace) -> int:
    from gql_server.sync_command import run_sync_command

    with opened_database(settings.database_url) as database:  # before the secret file
        return run_sync_command(
            settings_with_secret(settings), database, printer_names=args.printer, full=args.full
        )


def _rotate_secret(settings: Settings, args: argparse.Namespace) -> int:
    from gql_server.rotate_command import NewSecretSource, run_rotate_secret

    source = NewSecretSource(
        env_name=args.new_secret_env, stdin=args.new_secret_stdin, generate=args.generate
    )
    with opened_database(settings.database_url) as database:
        return run_rotate_secret(settings, source, database)


def environment_help(command: str) -> str:
    """The --help epilog: the variables ``command`` reads (every command validates all)."""
    names = ENVIRONMENT[command]
    if not names:
        return "environment: none"
    lines = textwrap.wrap(", ".join(names), width=76, initial_indent="  ", subsequent_indent="  ")
    note = [DATABASE_URL_NOTE] if "DATABASE_URL" in names else []
    return "\n".join(["environment:", *lines, *note])


# The quoted annotations: argparse's _SubParsersAction is generic for type checkers only.
def _add_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    help_text: str,
    env: str | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=environment_help(env or name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _add_rotate_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    rotate = _add_command(
        commands, "rotate-secret", "re-encrypt stored Moonraker API keys under a new secret"
    )
    given = rotate.add_mutually_exclusive_group(required=True)  # never the secret in argv
    given.add_argument("--new-secret-env", metavar="NAME", help="read it from variable NAME")
    given.add_argument("--new-secret-stdin", action="store_true", help="read it from stdin")
    given.add_argument("--generate", action="store_true", help="SQLite secret file only")
    rotate.set_defaults(handler=_rotate_secret)


def _add_key_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    keys = _add_command(commands, "api-key", "create, list or revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = _add_command(
        actions, "create", "create a key; the key is the last line printed", "api-key"
    )
    create.add_argument("--name", required=True)
    create.add_argument(
        "--scope",
        action="append",
        choices=[scope.value for scope in Scope],
        required=True,
        help="repeatable; ADMIN implies READ and WRITE",
    )
    create.add_argument("--expires-in", type=parse_duration, help="e.g. 30d, 12h (default: never)")
    create.set_defaults(handler=_key_create)
    listing = _add_command(actions, "list", "list keys (never the secrets)", "api-key")
    listing.set_defaults(handler=_key_list)
    revoke = _add_command(actions, "revoke", "revoke a key by its prefix or name", "api-key")
    revoke.add_argument("key")
    revoke.set_defaults(handler=_key_revoke)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gql-server", description="GraphQL API over a farm of Moonraker printers"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    migrate = _add_command(commands, "migrate", "apply database migrations; says which")
    migrate.set_defaults(handler=_migrate)
    serve = _add_command(commands, "serve", "run the HTTP server (migrates SQLite first)")
    serve.add_argument("--host", type=_host_argument, help="default: GQL_HOST or 127.0.0.1")
    serve.add_argument("--port", type=_port_argument, help="default: GQL_PORT or 8000")
    serve.add_argument("--workers", type=int, default=1, help="processes (use MariaDB for >1)")
    serve.add_argument(
        "--no-bootstrap-key",
        action="store_true",
        help="do not create an ADMIN key when no usable key exists",
    )
    serve.set_defaults(handler=_serve)
    _add_key_commands(commands)
    sync = _add_command(commands, "sync", "import job history from the printers now")
    sync.add_argument("--printer", action="append", help="printer name (repeatable; default all)")
    sync.add_argument("--full", action="store_true", help="re-read the whole history")
    sync.set_defaults(handler=_sync)
    _add_rotate_command(commands)
    schema = _add_command(commands, "export-schema", "print the GraphQL SDL")
    schema.set_defaults(handler=_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.handler(settings, args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except DatabaseNotMigrated as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"database error: {describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an operator gets one line, never a traceback
        print(f"error: {type(exc).__name__}: {describe(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
