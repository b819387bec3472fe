"""Periodic sync of every active printer, for the server's lifespan.

Several server processes may run it at once: the per-printer lease makes the second
process skip a printer the first is syncing (SYNC_ALREADY_RUNNING is expected there).
"""

import logging

import anyio

from gql_server.services.sync.results import ALREADY_RUNNING, SHUTTING_DOWN
from gql_server.services.sync.runs import Syncer

log = logging.getLogger(__name__)


class PeriodicSync:
    def __init__(self, syncer: Syncer, interval: float) -> None:
        self.syncer = syncer
        self.interval = interval
        self._stopping = anyio.Event()
        self._stopped = anyio.Event()

    async def run(self) -> None:
        """Sync, wait ``interval`` seconds (or until stop), repeat. A round in progress
        when stop is asked for finishes, or ends when the Syncer cancels its syncs (on
        shutdown): its jobs are written page by page anyway."""
        try:
            while not self._stopping.is_set():
                with anyio.move_on_after(self.interval):
                    await self._stopping.wait()
                if self._stopping.is_set():
                    break
                with anyio.CancelScope(shield=True):
                    await self._round()
        finally:
            self._stopped.set()

    def request_stop(self) -> None:
        """No new round; one in progress goes on (the Syncer decides when it ends)."""
        self._stopping.set()

    async def stop(self, timeout: float = 60.0) -> None:
        self.request_stop()
        with anyio.move_on_after(timeout):
            await self._stopped.wait()

    async def _round(self) -> None:
        try:
            results = await self.syncer.sync_printers(None)
        except Exception:  # the loop must survive anything one round does
            log.exception("periodic sync round failed")
            return
        for result in results:
            if result.ok:
                log.info(
                    "synced %s: %d new, %d updated",
                    result.printer_name,
                    result.counts.jobs_created,
                    result.counts.jobs_updated,
                )
            elif result.error_code == ALREADY_RUNNING:
                log.debug("skipped %s: another sync holds it", result.printer_name)
            elif result.error_code == SHUTTING_DOWN:
                log.info("stopped the sync of %s: shutting down", result.printer_name)
            else:
                log.warning(
                    "sync of %s failed: %s %s",
                    result.printer_name,
                    result.error_code,
                    result.error_message,
                )
