"""The ``gql-server`` command."""

import argparse
import sys
from collections.abc import Sequence

from gql_server.config import ConfigError, Settings, load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    engine = create_db_engine(settings.database_url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    print("database is at the newest revision")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gql-server", description="GraphQL API over a farm of Moonraker printers"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    migrate = commands.add_parser("migrate", help="apply database migrations (alembic upgrade)")
    migrate.set_defaults(handler=_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return args.handler(settings, args)


if __name__ == "__main__":
    sys.exit(main())
