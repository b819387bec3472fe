"""Pages of print jobs: the root ``printJobs`` in one read, each ``Printer.printJobs``
through the loader that fetches the pages of every printer of a page in one query."""

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from gql_server.graphql.context import Info
from gql_server.graphql.loaders import GroupKey
from gql_server.graphql.runtime.row_shapes import print_jobs_from_rows
from gql_server.graphql.runtime.selection import JobPageRequest
from gql_server.graphql.types.connection import Connection, page_connection
from gql_server.graphql.types.node import Node
from gql_server.graphql.types.print_job import PrintJob
from gql_server.services import job_queries, printer_queries
from gql_server.services.job_queries import JobOrder
from gql_server.services.pagination import Page


def job_connection(
    page: Page[Any],
    order: JobOrder,
    *,
    counter: Callable[[], Awaitable[int]],
    printers: Mapping[int, Any],
) -> Connection[PrintJob]:
    return page_connection(
        page,
        print_jobs_from_rows(page.items, printers),
        ordering=str(order),
        position_of=functools.partial(job_queries.cursor_position, order),
        counter=counter,
    )


async def jobs_of_printer(info: Info, printer: Node, r: JobPageRequest) -> Connection[PrintJob]:
    """One printer's page; the loader batches it with the other printers' pages."""
    loaders = info.context.loaders
    printer_id = printer.database_id
    page = await loaders.jobs_page.load(GroupKey(r, printer_id))

    async def count() -> int:
        return await loaders.job_count.load(GroupKey(r.job_filter, printer_id))

    return job_connection(page, r.order, counter=count, printers={printer_id: printer})


async def jobs_of_every_printer(
    info: Info, r: JobPageRequest, printer_from_row: Callable[[Any], Any]
) -> Connection[PrintJob]:
    """A page over every printer, with the printers of its jobs when they are selected,
    in one read."""
    context = info.context

    def load(session: Session) -> tuple[Page[Any], dict[int, Any]]:
        page = job_queries.fetch_job_page(
            session, r.job_filter, r.order, r.args, r.selection.columns
        )
        printers: dict[int, Any] = {}
        if r.selection.with_printer and page.items:
            ids = {row.printer_id for row in page.items}
            printers = printer_queries.fetch_printers_by_ids(session, list(ids))
        return page, printers

    page, printer_rows = await context.read(load)

    async def count() -> int:
        return await context.read(lambda s: job_queries.count_jobs(s, r.job_filter))

    printers = {pid: printer_from_row(row) for pid, row in printer_rows.items()}
    return job_connection(page, r.order, counter=count, printers=printers)
