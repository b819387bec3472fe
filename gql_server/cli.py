"""The ``gql-server`` command: serve, migrate, API keys, sync, schema export."""

import argparse
import math
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from gql_server.config import ConfigError, Settings, load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.faults import describe
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.secret_file import settings_with_secret
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services import api_keys
from gql_server.services.auth import Scope, format_scopes, parse_scopes
from gql_server.services.errors import ServiceError
from gql_server.web.header_deadline import protocol_class

DURATION = re.compile(r"^(\d+)([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``: the lifetime of a new key."""
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30d, 12h or 90m")
    amount, unit = match.groups()
    return timedelta(**{UNITS[unit]: int(amount)})


def _database(settings: Settings) -> Database:
    return Database(create_db_engine(settings.database_url))


def _is_sqlite(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "sqlite"


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    database = _database(settings)
    try:
        upgrade_to_head(database.engine)
    finally:
        database.dispose()
    print("database is at the newest revision")
    return 0


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
    print("Use it as the X-API-Key header; create narrower keys with createApiKey.")
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


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    settings = settings_with_secret(settings)  # a first run on SQLite creates the file
    host = args.host or settings.host
    port = args.port or settings.port
    database = _database(settings)
    try:
        if _is_sqlite(settings):
            upgrade_to_head(database.engine)  # a first run on the default just works
        if not args.no_bootstrap_key:
            _bootstrap_key(database)
    finally:
        database.dispose()
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
    database = _database(settings)
    try:
        with database.scope() as session:
            created = api_keys.create_api_key(
                session,
                name=args.name,
                scopes=format_scopes(Scope(s) for s in args.scope),
                expires_at=expires_at,
            )
            prefix, scopes = created.api_key.key_prefix, created.api_key.scopes
    finally:
        database.dispose()
    expiry = "never" if expires_at is None else expires_at.isoformat()
    print(f"created key {prefix}… ({args.name}; scopes {scopes}; expires {expiry})")
    print(created.plaintext)  # alone on the last line, for scripts
    return 0


def _key_list(settings: Settings, _args: argparse.Namespace) -> int:
    database = _database(settings)
    try:
        with database.scope() as session:
            keys = api_keys.list_api_keys(session)
    finally:
        database.dispose()
    print(f"{'PREFIX':<16} {'NAME':<24} {'SCOPES':<18} {'ACTIVE':<6} {'EXPIRES':<25} LAST USED")
    for key in keys:
        scopes = ",".join(sorted(s.value for s in parse_scopes(key.scopes)))
        expires = key.expires_at.isoformat() if key.expires_at else "never"
        last_used = key.last_used.isoformat() if key.last_used else "never"
        active = "yes" if key.is_active else "no"
        line = f"{key.key_prefix:<16} {key.name:<24} {scopes:<18} {active:<6} {expires:<25}"
        print(f"{line} {last_used}")
    return 0


def _key_revoke(settings: Settings, args: argparse.Namespace) -> int:
    database = _database(settings)
    try:
        with database.scope() as session:
            key = api_keys.find_by_prefix_or_name(session, args.key)
            api_keys.revoke_api_key(session, key.id)
            prefix = key.key_prefix
    finally:
        database.dispose()
    print(f"revoked key {prefix}…")
    return 0


def _export_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    from gql_server.schema import schema

    print(schema.as_str())
    return 0


def _sync(settings: Settings, args: argparse.Namespace) -> int:
    from gql_server.sync_command import run_sync_command

    return run_sync_command(
        settings_with_secret(settings), printer_names=args.printer, full=args.full
    )


def _rotate_secret(settings: Settings, args: argparse.Namespace) -> int:
    from gql_server.rotate_command import NewSecretSource, run_rotate_secret

    source = NewSecretSource(
        env_name=args.new_secret_env, stdin=args.new_secret_stdin, generate=args.generate
    )
    return run_rotate_secret(settings, source)


def _add_rotate_command(commands: argparse._SubParsersAction) -> None:
    rotate = commands.add_parser(
        "rotate-secret", help="re-encrypt stored Moonraker API keys under a new secret"
    )
    given = rotate.add_mutually_exclusive_group(required=True)  # never the secret in argv
    given.add_argument("--new-secret-env", metavar="NAME", help="read it from variable NAME")
    given.add_argument("--new-secret-stdin", action="store_true", help="read it from stdin")
    given.add_argument("--generate", action="store_true", help="SQLite secret file only")
    rotate.set_defaults(handler=_rotate_secret)


def _add_key_commands(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("api-key", help="create, list or revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key; the key is the last line printed")
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
    actions.add_parser("list", help="list keys (never the secrets)").set_defaults(handler=_key_list)
    revoke = actions.add_parser("revoke", help="revoke a key by its prefix or name")
    revoke.add_argument("key")
    revoke.set_defaults(handler=_key_revoke)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gql-server", description="GraphQL API over a farm of Moonraker printers"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=_migrate)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="default: GQL_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: GQL_PORT or 8000")
    serve.add_argument("--workers", type=int, default=1, help="processes (use MariaDB for >1)")
    serve.add_argument(
        "--no-bootstrap-key",
        action="store_true",
        help="do not create an ADMIN key when no usable key exists",
    )
    serve.set_defaults(handler=_serve)
    _add_key_commands(commands)
    sync = commands.add_parser("sync", help="import job history from the printers now")
    sync.add_argument("--printer", action="append", help="printer name (repeatable; default all)")
    sync.add_argument("--full", action="store_true", help="re-read the whole history")
    sync.set_defaults(handler=_sync)
    _add_rotate_command(commands)
    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        handler=_export_schema
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.handler(settings, args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
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
