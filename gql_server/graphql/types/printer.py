"""A printer: one Klipper/Moonraker host of the farm."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.inputs import PrintJobFilter, PrintJobOrder
from gql_server.graphql.pages import ConnectionArgs, FilteredPageArguments
from gql_server.graphql.runtime.job_pages import jobs_of_every_printer, jobs_of_printer
from gql_server.graphql.runtime.printer_totals import NOT_LOADED, totals_now_or_later
from gql_server.graphql.runtime.selection import JobPageRequest, job_page_request
from gql_server.graphql.types.columns import field_columns, row_values
from gql_server.graphql.types.connection import Connection
from gql_server.graphql.types.job_owner import JobOwner
from gql_server.graphql.types.job_totals import JobTotals
from gql_server.graphql.types.live_status import LiveStatus, live_status_from
from gql_server.graphql.types.maintenance import MaintenanceTask, resolve_maintenance
from gql_server.graphql.types.node import Node
from gql_server.graphql.types.print_job import PrintJob
from gql_server.services.job_queries import JobFilter, JobOrder


def resolve_job_totals(root: "Printer", info: Info) -> JobTotals | None:
    return totals_now_or_later(info, root.database_id, root.known_totals)


def resolve_live_status(root: "Printer", info: Info) -> LiveStatus | None:
    live = info.context.services.live
    state = None if live is None else live.status(root.database_id)
    return None if state is None else live_status_from(state)


@dataclass(frozen=True, slots=True)
class JobArguments(ConnectionArgs[JobFilter, JobOrder]):
    inputs = (PrintJobFilter, PrintJobOrder)


# The arguments of every printJobs field (each names resolve_print_jobs).
JOB_ARGUMENTS = FilteredPageArguments(JobArguments)


async def resolve_print_jobs(
    root: object, info: Info, arguments: JobArguments
) -> Connection[PrintJob]:
    """Every ``printJobs`` field: a Printer's or a PrintFile's over its own jobs
    (``root``), the root one over every printer."""
    request = job_page_request(info, arguments)
    if isinstance(root, JobOwner):
        return await root.own_jobs(info, request)
    return await jobs_of_every_printer(info, request, printer_from_row)


@strawberry.type(name="SyncStatusError", description="The error of a printer's last sync.")
class SyncStatusError:
    code: str
    message: str


@strawberry.type(description="A Klipper/Moonraker printer of the farm.")
class Printer(Node, JobOwner):
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

    job_totals: JobTotals | None = strawberry.field(resolver=resolve_job_totals)
    print_jobs: Connection[PrintJob] = strawberry.field(
        resolver=resolve_print_jobs,
        extensions=[JOB_ARGUMENTS],
        description="This printer's jobs, newest first unless ordered otherwise.",
    )
    live_status: LiveStatus | None = strawberry.field(
        resolver=resolve_live_status,
        description="What the printer is doing now; null when live mode (GQL_LIVE) is off "
        "or does not follow the printer (inactive, or just added).",
    )
    maintenance: list[MaintenanceTask] = strawberry.field(
        resolver=resolve_maintenance,
        description="Its maintenance tasks with their odometers, oldest task first.",
    )

    # A method's field comes after the attributes' in the schema: this one stays last.
    @strawberry.field(
        description="Machine cost per hour in force now, in the farm's currency (set "
        "with updatePrinter); null when none."
    )
    async def hourly_cost(self, info: Info) -> float | None:
        hourly: float | None = await info.context.loaders.hourly_cost.load(self.database_id)
        return hourly

    async def own_jobs(self, info: Info, request: JobPageRequest) -> Connection[PrintJob]:
        """Through the loader: every printer of a page has its page read in one query."""
        return await jobs_of_printer(info, self, request)


_COLUMNS = field_columns(Printer)


def printer_from_row(row: Any, *, totals: JobTotals | None = NOT_LOADED) -> Printer:
    """``row``: a printers row, the model or a Core row of its columns."""
    return Printer(
        **row_values(row, _COLUMNS),
        has_moonraker_api_key=bool(row.moonraker_api_key),
        last_sync_error=_sync_error(row),
        known_totals=totals,
    )


def _sync_error(row: Any) -> SyncStatusError | None:
    if row.last_sync_error_code is None:
        return None
    return SyncStatusError(code=row.last_sync_error_code, message=row.last_sync_error_message or "")
