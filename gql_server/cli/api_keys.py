"""``gql-server api-key create|list|revoke``."""

import argparse
import re
from datetime import datetime, timedelta

from gql_server.cli.parser import Commands, add_command
from gql_server.config import Settings
from gql_server.db.models import ApiKey
from gql_server.db.opening import opened_database
from gql_server.db.types import utcnow
from gql_server.services import api_keys
from gql_server.services.api_key_queries import list_api_keys
from gql_server.services.auth import Scope, format_scopes, ordered_scopes, parse_scopes
from gql_server.text_table import format_table

DURATION = re.compile(r"^(\d+)([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Far enough for any key, near enough that now + lifetime stays a date.
MAX_KEY_LIFETIME = timedelta(days=36_525)


def register(commands: Commands) -> None:
    keys = add_command(commands, "api-key", "create, list or revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = add_command(
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
    create.set_defaults(handler=create_key)
    listing = add_command(actions, "list", "list keys (never the secrets)", "api-key")
    listing.set_defaults(handler=list_keys)
    revoke = add_command(actions, "revoke", "revoke a key by its prefix or name", "api-key")
    revoke.add_argument("key")
    revoke.set_defaults(handler=revoke_key)


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


def create_key(settings: Settings, args: argparse.Namespace) -> int:
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


def list_keys(settings: Settings, _args: argparse.Namespace) -> int:
    with opened_database(settings.database_url) as database, database.scope() as session:
        rows = [_key_row(key) for key in list_api_keys(session)]
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


def revoke_key(settings: Settings, args: argparse.Namespace) -> int:
    with opened_database(settings.database_url) as database, database.scope() as session:
        key = api_keys.find_by_prefix_or_name(session, args.key)
        api_keys.revoke_api_key(session, key.id)
        prefix = key.key_prefix
    print(f"revoked key {prefix}…")
    return 0
