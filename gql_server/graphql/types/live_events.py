"""What the subscriptions deliver: a job's change and a sync's progress."""

import enum
from dataclasses import fields

import strawberry

from gql_server.graphql.ids import to_global_id
from gql_server.graphql.types.print_job import PrintJob
from gql_server.services.live import SyncProgress as SyncProgressEvent


@strawberry.enum(description="What happened to a job in the printer's history.")
class JobChangeAction(enum.Enum):
    ADDED = "ADDED"
    UPDATED = "UPDATED"
    FINISHED = "FINISHED"


@strawberry.type(description="A job written from the printer's Moonraker history as it happened.")
class PrintJobChange:
    action: JobChangeAction
    job: PrintJob = strawberry.field(description="The job as stored after the change.")


@strawberry.type(description="How far a printer's sync has got; the last message has finished.")
class SyncProgress:
    printer_id: strawberry.ID
    pages: int = strawberry.field(description="Pages of history read so far.")
    jobs_seen: int
    jobs_created: int
    jobs_updated: int
    finished: bool
    error_code: str | None = strawberry.field(
        description="The sync's error code once it finished failing (see SyncError.code)."
    )


# What the event holds under the same name: every field but the printer's global id.
_SAME_AS_EVENT = tuple(f.name for f in fields(SyncProgress) if f.name != "printer_id")


def sync_progress_from(event: SyncProgressEvent) -> SyncProgress:
    """A field added to both the event and the type needs no line here."""
    same = {name: getattr(event, name) for name in _SAME_AS_EVENT}
    return SyncProgress(printer_id=strawberry.ID(to_global_id("Printer", event.printer_id)), **same)
