"""Sync progress into the hub, for the ``syncProgress`` subscription.

The Syncer knows nothing of the hub (services/sync stays below live mode); this wires
its two observers: one message per page imported, and one when a sync ends.
"""

from collections.abc import Callable

from gql_server.services.live.hub import EventHub, SyncProgress
from gql_server.services.sync import Syncer, SyncResult
from gql_server.services.sync.importer import ImportCounts


def progress_event(
    printer_id: int, counts: ImportCounts, *, finished: bool = False, error_code: str | None = None
) -> SyncProgress:
    return SyncProgress(
        printer_id=printer_id,
        pages=counts.pages,
        jobs_seen=counts.jobs_seen,
        jobs_created=counts.jobs_created,
        jobs_updated=counts.jobs_updated,
        finished=finished,
        error_code=error_code,
    )


def publish_syncs(
    syncer: Syncer, hub: EventHub, observer: Callable[[SyncResult], None] | None = None
) -> None:
    """Publish every sync's pages and end to ``hub``; ``observer`` still hears each end."""

    def on_page(printer_id: int, counts: ImportCounts) -> None:
        hub.publish(progress_event(printer_id, counts))

    def on_result(result: SyncResult) -> None:
        if observer is not None:
            observer(result)
        hub.publish(
            progress_event(
                result.printer_id, result.counts, finished=True, error_code=result.error_code
            )
        )

    syncer.progress_observer = on_page
    syncer.observer = on_result
