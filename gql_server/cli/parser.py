"""How a command joins ``gql-server``'s parser, with the environment it reads in its --help."""

import argparse
import textwrap
from typing import TypeAlias

DATABASE = ("DATABASE_URL",)
SECRET = ("GQL_SECRET_KEY",)
SYNC = (
    *("GQL_SYNC_CONCURRENCY", "GQL_SYNC_LEASE", "GQL_MOONRAKER_ALLOWED_NETWORKS"),
    *("GQL_SPOOLMAN_URL", "GQL_CURRENCY"),
)
# What each command reads; tests/cli/test_commands.py checks serve's list against load_settings.
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "migrate": (*DATABASE, *SECRET, "GQL_TIMEZONE"),
    "serve": (
        *DATABASE,
        *("GQL_HOST", "GQL_PORT", "GQL_SYNC_INTERVAL", *SYNC, *SECRET),
        *("GQL_INTROSPECTION", "GQL_GRAPHIQL", "GQL_LOG_FORMAT", "GQL_MAX_DEPTH"),
        *("GQL_MAX_ALIASES", "GQL_MAX_TOKENS", "GQL_MAX_NODES", "GQL_MAX_COST"),
        *("GQL_MAX_BODY_BYTES", "GQL_PREPARE_TIMEOUT", "GQL_BODY_TIMEOUT"),
        *("GQL_MAX_CONNECTIONS", "GQL_TRUSTED_PROXIES", "GQL_SHUTDOWN_GRACE", "GQL_FAST_PATH"),
        "GQL_LIVE",
        "GQL_BROKER_URL",
        "GQL_TIMEZONE",
        *("GQL_MAX_SUBSCRIPTIONS_PER_SOCKET", "GQL_WS_INIT_TIMEOUT", "GQL_WS_KEEPALIVE"),
    ),
    "api-key": DATABASE,
    "sync": (*DATABASE, *SECRET, *SYNC),
    "rotate-secret": (*DATABASE, *SECRET),
    "export": DATABASE,
    "export-schema": (),
    "rollups": (*DATABASE, "GQL_TIMEZONE"),
    # Its databases are --from and --to, never DATABASE_URL.
    "copy": (),
    # A client of a running server: its key, and where serve listens by default.
    "watch": ("GQL_API_KEY", "GQL_HOST", "GQL_PORT"),
}
DATABASE_URL_NOTE = "  (DATABASE_URL defaults to sqlite:///gql_server.db, in the working directory)"

# Quoted: argparse's _SubParsersAction is generic for type checkers only.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def environment_help(command: str) -> str:
    """The --help epilog: the variables ``command`` reads (every command validates all)."""
    names = ENVIRONMENT[command]
    if not names:
        return "environment: none"
    lines = textwrap.wrap(", ".join(names), width=76, initial_indent="  ", subsequent_indent="  ")
    note = [DATABASE_URL_NOTE] if "DATABASE_URL" in names else []
    return "\n".join(["environment:", *lines, *note])


def add_command(
    commands: Commands, name: str, help_text: str, env: str | None = None
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=environment_help(env or name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser
