"""Sync progress and the jobs syncs write into the hub, for the ``syncProgress`` and
``printJobChanged`` subscriptions.

The Syncer knows nothing of the hub (services/sync stays below live mode); this wires
its observers: one message per page imported, one when a sync ends, and a job event
for each job a page created or moved to another status (a job that ended while live
mode's socket was down, or a printer followed by polling only).

A page that wrote more than ``MAX_JOB_EVENTS_PER_PAGE`` such jobs is a bulk import (a
first or full sync): its jobs are not announced one by one, which would cost every
subscriber a read per job; its ``syncProgress`` counts say what changed.
"""

from collections.abc import Callable

from gql_server.services.live.hub import EventHub, JobAction, JobChanged, SyncProgress
from gql_server.services.sync import Syncer, SyncResult
from gql_server.services.sync.importer import ImportCounts, JobWritten

MAX_JOB_EVENTS_PER_PAGE = 20


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


def job_event(printer_id: int, job: JobWritten) -> JobChanged:
    return JobChanged(printer_id, _action(job), job.print_job_id, job.job_id, job.start_time)


def _action(job: JobWritten) -> JobAction:
    if job.status != "in_progress":
        return "FINISHED"
    return "ADDED" if job.created else "UPDATED"


def publish_syncs(
    syncer: Syncer, hub: EventHub, observer: Callable[[SyncResult], None] | None = None
) -> None:
    """Publish every sync's pages, jobs and end to ``hub``; ``observer`` still hears each
    end."""

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

    def on_jobs(printer_id: int, written: list[JobWritten]) -> None:
        if len(written) <= MAX_JOB_EVENTS_PER_PAGE:
            for job in written:
                hub.publish(job_event(printer_id, job))

    syncer.progress_observer = on_page
    syncer.jobs_observer = on_jobs
    syncer.observer = on_result
