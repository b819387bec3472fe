"""The ``gql-server`` command: serve, migrate, API keys, sync, rollups, secret rotation,
database copy, job export, schema export, and watch (a client of a running server).

One module per command group, each with a ``register`` that adds its commands (and their
handlers) to the parser; ``main`` turns what escapes a handler into one line and an exit
status (``failures``).
"""

import argparse
from collections.abc import Sequence

from gql_server.cli import (
    api_keys,
    copy,
    export,
    migrate,
    rollups,
    rotate,
    schema,
    serve,
    sync,
    watch,
)
from gql_server.cli.failures import INTERRUPTED, fail, report_failure
from gql_server.config import load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gql-server", description="GraphQL API over a farm of Moonraker printers"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (
        migrate,
        serve,
        api_keys,
        sync,
        rollups,
        rotate,
        copy,
        export,
        schema,
        watch,
    ):  # the order of --help
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.handler(settings, args))
    except KeyboardInterrupt:
        return fail("interrupted", INTERRUPTED)
    except Exception as exc:  # an operator gets one line, never a traceback
        return report_failure(exc)
