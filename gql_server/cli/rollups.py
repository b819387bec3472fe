"""``gql-server rollups rebuild``: recompute the statistics rollups from the jobs."""

import argparse
import sys
from typing import TextIO

from gql_server.cli.parser import Commands, add_command
from gql_server.config import Settings
from gql_server.db.opening import opened_database
from gql_server.services.rollups.costs import rebuild as rebuild_costs
from gql_server.services.rollups.maintain import zone_of
from gql_server.services.rollups.rebuild import rebuild


def register(commands: Commands) -> None:
    rollups = add_command(commands, "rollups", "statistics rollups kept by the import")
    actions = rollups.add_subparsers(dest="action", required=True)
    rebuild_command = add_command(
        actions,
        "rebuild",
        "recompute them from the jobs, with days in GQL_TIMEZONE (after changing it)",
        "rollups",
    )
    rebuild_command.set_defaults(handler=run_rebuild)


def run_rebuild(settings: Settings, _args: argparse.Namespace, err: TextIO | None = None) -> int:
    """Progress on stderr (one line, rewritten), the result on stdout. Imports wait
    for the rebuild to commit before they write their own changes to the rollups."""
    err = err if err is not None else sys.stderr

    def progress(done: int, total: int) -> None:
        print(f"\rrollups: {done:,}/{total:,} jobs read", end="", file=err, flush=True)

    with opened_database(settings.database_url) as database, database.scope() as session:
        counted = rebuild(session.connection(), settings.timezone, progress)
        # The costs' rollups, from job_costs, in the same transaction and zone.
        rebuild_costs(session.connection(), zone_of(settings.timezone))
    print(file=err)
    print(f"rollups rebuilt from {counted:,} jobs, farm days in {settings.timezone}")
    return 0
