"""A printer: one Klipper/Moonraker host of the farm."""

from datetime import datetime
from typing import Any

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.inputs import PrintJobFilter, PrintJobOrder
from gql_server.graphql.loaders import JobCountKey, JobsPageKey
from gql_server.graphql.pages import After, Before, First, Last
from gql_server.graphql.selection import job_page_request
from gql_server.graphql.types.connection import Connection
from gql_server.graphql.types.job_totals import JobTotals, job_totals_from_row
from gql_server.graphql.types.node import Node
from gql_server.graphql.types.print_job import PrintJob, job_connection

NOT_LOADED: Any = object()


@strawberry.type(name="SyncStatusError", description="The error of a printer's last sync.")
class SyncStatusError:
    code: str
    message: str


@strawberry.type(description="A Klipper/Moonraker printer of the farm.")
class Printer(Node):
    name: str
    location: str | None
    moonraker_url: str
    has_moonraker_api_key: bool = strawberry.field(
        description="Whether a Moonraker API key is stored; the key itself is write-only."
    )
    is_active: bool
    last_seen: datetime | None
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None = strawberry.field(description="When the last sync ended.")
    last_sync_status: str | None = strawberry.field(description="succeeded, failed or cancelled.")
    last_sync_error: "SyncStatusError | None" = strawberry.field(
        description="Why the last sync failed; null after a successful one."
    )
    known_totals: strawberry.Private[JobTotals | None]

    @strawberry.field
    def job_totals(self, info: Info) -> JobTotals | None:
        if self.known_totals is not NOT_LOADED:
            return self.known_totals
        # A coroutine, which graphql-core awaits: resolving synchronously when the totals
        # are known spares a coroutine per printer, but the annotation must stay the
        # GraphQL type, so the awaitable cannot be declared.
        return _totals_later(info, self.database_id)  # type: ignore[return-value]

    @strawberry.field(description="This printer's jobs, newest first unless ordered otherwise.")
    async def print_jobs(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: PrintJobFilter | None = None,
        order_by: PrintJobOrder | None = None,
    ) -> Connection[PrintJob]:
        r = job_page_request(info, first, after, last, before, filter, order_by)
        loaders = info.context.loaders
        page = await loaders.jobs_page.load(
            JobsPageKey(self.database_id, r.job_filter, r.order, r.args, r.selection)
        )

        async def count() -> int:
            key = JobCountKey(self.database_id, r.job_filter)
            return await loaders.job_count.load(key)

        return job_connection(page, r.order, counter=count, printers={self.database_id: self})


async def _totals_later(info: Info, printer_id: int) -> JobTotals | None:
    row = await info.context.loaders.totals.load(printer_id)
    return None if row is None else job_totals_from_row(row)


def printer_from_row(row: Any, *, totals: JobTotals | None = NOT_LOADED) -> Printer:
    """``row``: a printers row, the model or a Core row of its columns."""
    return Printer(
        database_id=row.id,
        name=row.name,
        location=row.location,
        moonraker_url=row.moonraker_url,
        has_moonraker_api_key=bool(row.moonraker_api_key),
        is_active=row.is_active,
        last_seen=row.last_seen,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_sync_at=row.last_sync_at,
        last_sync_status=row.last_sync_status,
        last_sync_error=_sync_error(row),
        known_totals=totals,
    )


def _sync_error(row: Any) -> SyncStatusError | None:
    if row.last_sync_error_code is None:
        return None
    return SyncStatusError(code=row.last_sync_error_code, message=row.last_sync_error_message or "")
