"""The root Subscription: the farm's events from the in-process hub (services/live).

Each resolver reads one hub subscription and turns its events into GraphQL values; the
socket's lifetime and limits are web/subscriptions.py's business. A websocket keeps one
Context for all its operations, so every job message is read fresh from the database
and the loaders are renewed: a cached row would show a job as it was at the first event.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.orm import Session

from gql_server.graphql.context import Info
from gql_server.graphql.errors import ApiError, api_error
from gql_server.graphql.inputs import database_ids
from gql_server.graphql.loaders import Loaders
from gql_server.graphql.permissions import read_subscription
from gql_server.graphql.runtime.row_shapes import print_jobs_from_rows
from gql_server.graphql.types.live_events import (
    JobChangeAction,
    PrintJobChange,
    SyncProgress,
    sync_progress_from,
)
from gql_server.graphql.types.live_status import LiveStatus, live_status_from
from gql_server.graphql.types.print_job import PrintJob
from gql_server.graphql.types.printer import printer_from_row
from gql_server.services import job_queries, printer_queries
from gql_server.services.errors import ServiceError
from gql_server.services.live import EventHub, JobChanged
from gql_server.services.live import SyncProgress as SyncProgressEvent
from gql_server.services.live.hub import Event, StatusChanged
from gql_server.services.live.throttle import STATUS_INTERVAL_S, throttled_statuses

LIVE_MODE_OFF = "LIVE_MODE_OFF"
PrinterIds = Annotated[
    list[strawberry.ID] | None,
    strawberry.argument(description="Only these printers; all when omitted."),
]


def _printer_ids(global_ids: Sequence[strawberry.ID] | None) -> frozenset[int] | None:
    try:
        ids = database_ids(global_ids, "Printer", field="printerIds")
    except ServiceError as exc:
        raise api_error(exc) from None
    return None if ids is None else frozenset(ids)


def _events(
    hub: EventHub, printer_ids: frozenset[int] | None, kind: type[Event]
) -> AsyncGenerator[list[Event], None]:
    """The hub's subscription to one kind of event, typed as the generator it is, so
    that it can be closed as soon as the client completes (its reader then leaves the
    hub)."""
    return cast(AsyncGenerator[list[Event], None], hub.subscribe(printer_ids, (kind,)))


def _live_hub(info: Info) -> EventHub:
    """The hub live mode publishes to; refused at once (never a silent stream) without it."""
    live = info.context.services.live
    if live is None:
        raise ApiError(
            "live mode is off on this server (GQL_LIVE=false): there are no live events",
            LIVE_MODE_OFF,
        )
    return live.hub


def _live_events(
    info: Info, printer_ids: Sequence[strawberry.ID] | None, kind: type[Event]
) -> AsyncGenerator[list[Event], None]:
    """Live mode's events of one kind: the printer ids are checked first, then that
    live mode is on."""
    wanted = _printer_ids(printer_ids)
    return _events(_live_hub(info), wanted, kind)


async def _jobs(info: Info, events: Sequence[JobChanged]) -> list[PrintJob | None]:
    """The jobs of a batch of events, read in one transaction: a burst (a farm finishing
    several jobs in one group commit) costs one read, not one each in turn, so the last
    event of the burst waits for no other's. None for a job deleted since."""
    if not events:
        return []

    def read(session: Session) -> tuple[dict[int, Any], dict[int, Any]]:
        jobs = job_queries.fetch_jobs_by_ids(session, [e.print_job_id for e in events])
        printer_ids = sorted({e.printer_id for e in events})
        return jobs, printer_queries.fetch_printers_by_ids(session, printer_ids)

    info.context.loaders = Loaders(info.context.read, info.context.now)
    rows, printer_rows = await info.context.read(read)
    printers = {printer_id: printer_from_row(row) for printer_id, row in printer_rows.items()}
    found = [row for row in rows.values() if row.printer_id in printers]
    built = dict(zip([row.id for row in found], print_jobs_from_rows(found, printers), strict=True))
    return [built.get(event.print_job_id) for event in events]


@strawberry.type
class Subscription:
    @read_subscription(
        f"A printer's live state when it changes: at most one message per "
        f"printer every {int(STATUS_INTERVAL_S * 1000)} ms, and always its newest state."
    )
    async def printer_status_changed(
        self, info: Info, printer_ids: PrinterIds = None
    ) -> AsyncIterator[LiveStatus]:
        async with (
            aclosing(_live_events(info, printer_ids, StatusChanged)) as batches,
            aclosing(throttled_statuses(batches)) as statuses,
        ):
            async for event in statuses:
                yield live_status_from(event.status)

    @read_subscription(
        "Jobs as they are written: from live mode's history notifications, and "
        "those a sync creates or moves to another status (a bulk import is announced by "
        "syncProgress instead, not job by job)."
    )
    async def print_job_changed(
        self, info: Info, printer_ids: PrinterIds = None
    ) -> AsyncIterator[PrintJobChange]:
        async with aclosing(_live_events(info, printer_ids, JobChanged)) as batches:
            async for events in batches:
                changes = [event for event in events if isinstance(event, JobChanged)]
                for event, job in zip(changes, await _jobs(info, changes), strict=True):
                    if job is not None:
                        yield PrintJobChange(action=JobChangeAction(event.action), job=job)

    @read_subscription(
        "Each printer's sync progress while a sync runs (with or without "
        "live mode): a message per page read, and one when it finishes."
    )
    async def sync_progress(
        self, info: Info, printer_ids: PrinterIds = None
    ) -> AsyncIterator[SyncProgress]:
        wanted = _printer_ids(printer_ids)
        async with aclosing(
            _events(info.context.services.hub, wanted, SyncProgressEvent)
        ) as batches:
            async for events in batches:
                for event in events:
                    if isinstance(event, SyncProgressEvent):
                        yield sync_progress_from(event)
