"""Importing the printers' Moonraker history into our database.

``runs.Syncer`` syncs printers (a lease, a run record and a history import each);
``scheduler.PeriodicSync`` calls it on an interval; ``importer.HistoryImport`` reads one
printer's history into its jobs; ``lease`` and ``run_records`` hold the rows a sync
writes around that; ``moonraker_totals`` keeps Moonraker's own totals beside ours.
"""

from gql_server.services.sync.importer import ImportCounts
from gql_server.services.sync.results import (
    ALREADY_RUNNING,
    CANCELLED,
    INTERNAL,
    LEASE_LOST,
    NOT_FOUND,
    SHUTTING_DOWN,
    SyncResult,
)
from gql_server.services.sync.runs import (
    ProgressCallback,
    Syncer,
    SyncOptions,
    syncer_from_settings,
)
from gql_server.services.sync.scheduler import PeriodicSync

__all__ = [
    "ALREADY_RUNNING",
    "CANCELLED",
    "INTERNAL",
    "LEASE_LOST",
    "NOT_FOUND",
    "SHUTTING_DOWN",
    "ImportCounts",
    "PeriodicSync",
    "ProgressCallback",
    "SyncOptions",
    "SyncResult",
    "Syncer",
    "syncer_from_settings",
]
