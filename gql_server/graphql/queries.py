"""The root Query: thin resolvers over services and loaders."""

import functools
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry
from sqlalchemy.orm import Session

from gql_server.graphql.context import Info
from gql_server.graphql.errors import ApiError, api_error
from gql_server.graphql.ids import database_id, from_global_id
from gql_server.graphql.inputs import (
    PrinterFilter,
    PrinterOrder,
    PrintFileFilter,
    PrintFileOrder,
    PrintJobFilter,
)
from gql_server.graphql.limits import MAX_LIST_ITEMS
from gql_server.graphql.pages import (
    ConnectionArgs,
    FilteredPageArguments,
    PageArguments,
    PageWindow,
    page_args,
)
from gql_server.graphql.permissions import CanRead, IsAdmin
from gql_server.graphql.runtime.lookahead import (
    field_names,
    merged_selections,
    selects,
    selects_in_nodes,
)
from gql_server.graphql.runtime.row_shapes import job_details_from_row, print_jobs_from_rows
from gql_server.graphql.types.api_key import ApiKey, api_key_from_row
from gql_server.graphql.types.connection import Connection, page_connection
from gql_server.graphql.types.cost import FilamentPrice, filament_price_from_row
from gql_server.graphql.types.enums import StatsGroupBy
from gql_server.graphql.types.job_totals import job_totals_from_row
from gql_server.graphql.types.maintenance import MaintenanceTask, resolve_maintenance_due
from gql_server.graphql.types.node import Node
from gql_server.graphql.types.print_file import PrintFile, print_file_from_row
from gql_server.graphql.types.print_job import PrintJob
from gql_server.graphql.types.printer import (
    JOB_ARGUMENTS,
    Printer,
    printer_from_row,
    resolve_print_jobs,
)
from gql_server.graphql.types.stats import BucketCosts, StatsBucket, stats_bucket
from gql_server.services import file_queries, job_queries, prices, printer_queries, stats
from gql_server.services.api_key_queries import (
    API_KEY_ORDER,
    api_key_position,
    count_api_keys,
    fetch_api_key_page,
    fetch_api_keys_by_ids,
)
from gql_server.services.auth import Scope
from gql_server.services.errors import ServiceError
from gql_server.services.job_queries import JobFilter
from gql_server.services.pagination import Page
from gql_server.services.printer_queries import fetch_printer_page, printer_cursor_position


@dataclass(frozen=True, slots=True)
class PrinterArguments(ConnectionArgs[printer_queries.PrinterFilter, printer_queries.PrinterOrder]):
    inputs = (PrinterFilter, PrinterOrder)


@dataclass(frozen=True, slots=True)
class FileArguments(ConnectionArgs[file_queries.FileFilter, file_queries.FileOrder]):
    inputs = (PrintFileFilter, PrintFileOrder)


async def resolve_printers(info: Info, arguments: PrinterArguments) -> Connection[Printer]:
    request = arguments.to_service()
    printer_filter, order, args = request.filter, request.order, request.args
    with_totals = selects_in_nodes(merged_selections(info), "jobTotals")
    context = info.context

    def load(session: Session) -> tuple[Page[Any], dict[int, Any]]:
        page = fetch_printer_page(session, printer_filter, order, args)
        ids = [printer.id for printer in page.items]
        totals = printer_queries.fetch_totals_for_printers(session, ids) if with_totals else {}
        return page, totals

    page, totals = await context.read(load)
    nodes = [_printer(row, totals, with_totals=with_totals) for row in page.items]

    async def count() -> int:
        return await context.read(lambda s: printer_queries.count_printers(s, printer_filter))

    return page_connection(
        page,
        nodes,
        ordering=str(order),
        position_of=functools.partial(printer_cursor_position, order),
        counter=count,
    )


async def resolve_files(info: Info, arguments: FileArguments) -> Connection[PrintFile]:
    request = arguments.to_service()
    file_filter, order = request.filter, request.order
    context = info.context
    page = await context.read(
        lambda s: file_queries.fetch_file_page(s, file_filter, order, request.args)
    )
    printer_ids = None if file_filter.printer_ids is None else tuple(file_filter.printer_ids)

    async def count() -> int:
        return await context.read(lambda s: file_queries.count_files(s, file_filter))

    return page_connection(
        page,
        [print_file_from_row(row, printer_ids) for row in page.items],
        ordering=str(order),
        position_of=functools.partial(file_queries.file_position, order),
        counter=count,
    )


@strawberry.type
class Query:
    printers: Connection[Printer] = strawberry.field(
        resolver=resolve_printers,
        extensions=[FilteredPageArguments(PrinterArguments)],
        description="Printers of the farm, by name unless ordered otherwise.",
        permission_classes=[CanRead],
    )
    print_jobs: Connection[PrintJob] = strawberry.field(
        resolver=resolve_print_jobs,
        extensions=[JOB_ARGUMENTS],
        description="Print jobs of every printer, newest first by default.",
        permission_classes=[CanRead],
    )
    maintenance_due: Connection[MaintenanceTask] = strawberry.field(
        resolver=resolve_maintenance_due,
        extensions=[PageArguments()],
        description="The farm's maintenance tasks, most overdue first (by overdueRatio, "
        "ties by task). The days odometer grows with the clock: a later page is cut at "
        "the rank its cursor's task had when the cursor was issued.",
        permission_classes=[CanRead],
    )

    files: Connection[PrintFile] = strawberry.field(
        resolver=resolve_files,
        extensions=[FilteredPageArguments(FileArguments)],
        description="Files the farm has printed, with figures over their jobs; most "
        "printed first unless ordered otherwise. Without printerIds or start bounds the "
        "figures come from rollups kept by the import; with printerIds from the "
        "per-printer rollups; with start bounds they are summed from the jobs.",
        permission_classes=[CanRead],
    )

    @strawberry.field(
        description="Job counts, success rate, time and filament per bucket.",
        permission_classes=[CanRead],
    )
    async def print_stats(
        self,
        info: Info,
        group_by: StatsGroupBy,
        filter: PrintJobFilter | None = None,
        timezone: Annotated[
            str,
            strawberry.argument(
                description="IANA zone for DAY/WEEK/MONTH buckets, such as Europe/Berlin; "
                f"at most {stats.TIMEZONE_MAX} characters."
            ),
        ] = "UTC",
    ) -> list[StatsBucket]:
        job_filter = filter.to_service() if filter else JobFilter()
        selections = merged_selections(info)
        with_estimates = "estimateError" in field_names(selections)
        with_cost = selects(selections, "cost")
        request = stats.StatsRequest(job_filter, group_by, timezone)

        def load(session: Session) -> tuple[list[Any], dict[Any, Any] | None]:
            found = stats.print_stats(session, request, with_estimates=with_estimates)
            if not (with_cost and found):
                return found, None
            return found, stats.print_stats_costs(session, request)

        try:
            buckets, sums = await info.context.read(load)
        except ServiceError as exc:
            raise api_error(exc) from None
        if len(buckets) > MAX_LIST_ITEMS:  # what the query's cost was measured for
            raise ApiError(
                f"more than {MAX_LIST_ITEMS} buckets: narrow the filter or group more coarsely",
                "LIST_TOO_LONG",
            )
        currency = info.context.settings.currency
        costs = None if not with_cost else BucketCosts(sums or {}, currency)
        return [stats_bucket(bucket, group_by, costs) for bucket in buckets]

    @strawberry.field(
        description="Every filament price ever set, by filament type, newest first: the "
        "first of a type is the one in force now.",
        permission_classes=[CanRead],
    )
    async def filament_prices(self, info: Info) -> list[FilamentPrice]:
        rows = await info.context.read(prices.filament_prices)
        return [filament_price_from_row(row) for row in rows]

    @strawberry.field(description="Any object by its global id.", permission_classes=[CanRead])
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, number = from_global_id(id)
        loaders = info.context.loaders
        if type_name == "Printer":
            row = await loaders.printer.load(number)
            return None if row is None else printer_from_row(row)
        if type_name == "PrintJob":
            return await load_print_job(info, number)
        if type_name == "PrintFile":
            row = await loaders.file.load(number)
            return None if row is None else print_file_from_row(row)
        if type_name == "JobDetails":
            row = await info.context.read(lambda s: job_queries.fetch_details_by_id(s, number))
            return None if row is None else job_details_from_row(row)
        if type_name == "ApiKey":
            if not info.context.caller().allows(Scope.ADMIN):
                raise ApiError("reading API keys needs the ADMIN scope", "FORBIDDEN")
            keys = await info.context.read(lambda s: fetch_api_keys_by_ids(s, [number]))
            return None if number not in keys else api_key_from_row(keys[number])
        if type_name == "JobTotals":
            row = await info.context.read(lambda s: printer_queries.fetch_totals_by_id(s, number))
            return None if row is None else job_totals_from_row(row)
        return None

    @strawberry.field(permission_classes=[CanRead])
    async def printer(self, info: Info, id: strawberry.ID) -> Printer | None:
        row = await info.context.loaders.printer.load(database_id(id, "Printer"))
        return None if row is None else printer_from_row(row)

    @strawberry.field(permission_classes=[CanRead])
    async def print_job(self, info: Info, id: strawberry.ID) -> PrintJob | None:
        return await load_print_job(info, database_id(id, "PrintJob"))

    @strawberry.field(description="The API key making this request.", permission_classes=[CanRead])
    async def viewer(self, info: Info) -> ApiKey:
        key_id = info.context.caller().id
        keys = await info.context.read(lambda s: fetch_api_keys_by_ids(s, [key_id]))
        return api_key_from_row(keys[key_id])

    @strawberry.field(
        description="Every API key, oldest first.",
        permission_classes=[IsAdmin],
        extensions=[PageArguments()],
    )
    async def api_keys(self, info: Info, window: PageWindow) -> Connection[ApiKey]:
        args = page_args(window, API_KEY_ORDERING, API_KEY_ORDER)
        context = info.context
        page = await context.read(lambda s: fetch_api_key_page(s, args))

        async def count() -> int:
            return await context.read(count_api_keys)

        return page_connection(
            page,
            [api_key_from_row(row) for row in page.items],
            ordering=API_KEY_ORDERING,
            position_of=api_key_position,
            counter=count,
        )


API_KEY_ORDERING = "api_key:created_at:asc"


async def load_print_job(info: Info, job_id: int) -> PrintJob | None:
    """One job by id (with its details), and its printer through the loader: several
    ``node`` fields in one request share each batch. Also annotatePrintJob's answer."""
    loaders = info.context.loaders
    row = await loaders.job.load(job_id)
    if row is None:
        return None
    printer = printer_from_row(await loaders.printer.load(row.printer_id))
    return print_jobs_from_rows([row], {row.printer_id: printer})[0]


def _printer(row: Any, totals: dict[int, Any], *, with_totals: bool) -> Printer:
    """A printer of a page; with its totals when the page read them (None: it has none)."""
    if not with_totals:
        return printer_from_row(row)
    known = totals.get(row.id)
    return printer_from_row(row, totals=None if known is None else job_totals_from_row(known))
