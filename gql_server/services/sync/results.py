"""What one printer's sync came to: a ``SyncResult``, with a stable error code on failure.

Every way a sync can fail ends here as a value, never as an exception: one printer's
network fault, storage fault or bug cannot fail the others or the caller.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from gql_server.db.faults import storage_fault
from gql_server.moonraker.errors import MoonrakerError
from gql_server.services.moonraker_keys import SecretKeyError
from gql_server.services.sync.importer import ImportCounts

log = logging.getLogger(__name__)

ALREADY_RUNNING = "SYNC_ALREADY_RUNNING"
NOT_FOUND = "NOT_FOUND"
INTERNAL = "INTERNAL_ERROR"
SHUTTING_DOWN = "SHUTTING_DOWN"  # the server (or the CLI) is stopping
CANCELLED = "CANCELLED"  # the caller gave up on the sync (e.g. its request was cancelled)
LEASE_LOST = "LEASE_LOST"  # the lease lapsed (heartbeats failed) and another sync took it
MESSAGE_MAX = 500
RUN_STATUS = {SHUTTING_DOWN: "cancelled", CANCELLED: "cancelled"}
SHUTTING_DOWN_MESSAGE = (
    "the server is shutting down; the sync was cancelled (pages already imported are kept)"
)


@dataclass(slots=True)
class SyncResult:
    printer_id: int
    printer_name: str | None
    started_at: datetime
    finished_at: datetime | None = None
    full: bool = False
    counts: ImportCounts = field(default_factory=ImportCounts)  # what the import got through
    requests_made: int = 0
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def duration_seconds(self) -> float:
        end = self.finished_at or self.started_at
        return (end - self.started_at).total_seconds()

    @property
    def run_status(self) -> str:
        """The ``sync_runs.status`` (and the printer's ``last_sync_status``) it records."""
        if self.ok:
            return "succeeded"
        return RUN_STATUS.get(self.error_code or "", "failed")

    def fail(self, code: str, message: str) -> None:
        self.error_code = code
        self.error_message = message[:MESSAGE_MAX]


def fail_with(result: SyncResult, exc: Exception, doing: str) -> None:
    """A Moonraker or storage fault as its stable code; anything else is a bug, logged
    whole and reported as INTERNAL_ERROR."""
    if isinstance(exc, MoonrakerError | SecretKeyError):
        result.fail(exc.code, exc.message)
        return
    fault = storage_fault(exc)
    if fault is not None:
        log.warning("%s: storage fault (%s): %s", doing, fault.kind, exc)
        result.fail(fault.code, fault.message)
        return
    log.error("%s failed", doing, exc_info=exc)
    result.fail(INTERNAL, "the sync failed unexpectedly; the server log has details")
