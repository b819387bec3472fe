"""``gql-server migrate``: apply the database migrations, saying which."""

import argparse

from gql_server.cli.parser import Commands, add_command
from gql_server.config import Settings
from gql_server.db.migrate import (
    current_revision,
    head_revision,
    pending_revisions,
    upgrade_to_head,
)
from gql_server.db.opening import database_label, opened_database
from gql_server.db.session import Database


def register(commands: Commands) -> None:
    migrate = add_command(commands, "migrate", "apply database migrations; says which")
    migrate.set_defaults(handler=run_migrate)


def run_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    with opened_database(settings.database_url, for_migration=True) as database:
        print(f"database: {database_label(settings.database_url)}", flush=True)
        pending = upgrade(database)
    verdict = "now" if pending else "already"
    print(f"the database is {verdict} at the newest revision, {head_revision()}")
    return 0


def upgrade(database: Database) -> list[tuple[str, str]]:
    """Apply what is missing, saying which revisions (so a no-op reads as one)."""
    pending = pending_revisions(current_revision(database.engine))
    upgrade_to_head(database.engine)
    for revision, message in pending:
        print(f"applied {revision}: {message}", flush=True)
    return pending
