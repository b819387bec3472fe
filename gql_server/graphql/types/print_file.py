"""A file the farm has printed, with what its jobs add up to."""

from datetime import datetime

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.loaders import GroupKey
from gql_server.graphql.runtime.job_pages import job_connection
from gql_server.graphql.runtime.selection import JobPageRequest
from gql_server.graphql.types.columns import field_columns, row_values
from gql_server.graphql.types.connection import Connection
from gql_server.graphql.types.job_owner import JobOwner
from gql_server.graphql.types.node import Node
from gql_server.graphql.types.print_job import PrintJob
from gql_server.graphql.types.printer import (
    JOB_ARGUMENTS,
    Printer,
    printer_from_row,
    resolve_print_jobs,
)
from gql_server.services.file_queries import FileRow


@strawberry.type(
    description="A file the farm has printed (one per distinct file name), with figures "
    "over its jobs: under `files`' filter, over the jobs that filter keeps; elsewhere "
    "over every job. Completed and finished jobs are counted as printStats counts them."
)
class PrintFile(Node, JobOwner):
    filename: str
    prints: int = strawberry.field(description="Jobs that printed it, in progress included.")
    completed: int = strawberry.field(description="Of them, completed jobs.")
    success_rate: float | None = strawberry.field(
        description="Completed / finished jobs (in-progress jobs excluded); null when none "
        "has finished."
    )
    average_print_duration: float | None = strawberry.field(
        description="Mean print duration of the completed jobs, seconds; null when none."
    )
    filament_used: float = strawberry.field(
        description="Millimetres, summed over every job (failed ones used filament too)."
    )
    last_printed_at: datetime | None = strawberry.field(
        description="Start of its newest job; null when no job is counted."
    )
    printer_filter: strawberry.Private[tuple[int, ...] | None]

    @strawberry.field(
        description="The printers that printed it, by name (among `files`' printerIds "
        "when given; over its whole history, whatever the start bounds)."
    )
    async def printers(self, info: Info) -> list[Printer]:
        key = GroupKey(self.printer_filter, self.database_id)
        rows = await info.context.loaders.file_printers.load(key)
        return [printer_from_row(row) for row in rows]

    print_jobs: Connection[PrintJob] = strawberry.field(
        resolver=resolve_print_jobs,
        extensions=[JOB_ARGUMENTS],
        description="This file's jobs, newest first unless ordered otherwise.",
    )

    async def own_jobs(self, info: Info, r: JobPageRequest) -> Connection[PrintJob]:
        """The loader reads the pages of every file of a page in one query."""
        loaders = info.context.loaders
        file_id = self.database_id
        page = await loaders.file_jobs_page.load(GroupKey(r, file_id))
        printers: dict[int, Printer] = {}
        if r.selection.with_printer and page.items:
            ids = sorted({row.printer_id for row in page.items})
            rows = await loaders.printer.load_many(ids)
            printers = {row.id: printer_from_row(row) for row in rows if row is not None}

        async def count() -> int:
            return await loaders.file_job_count.load(GroupKey(r.job_filter, file_id))

        return job_connection(page, r.order, counter=count, printers=printers)


_COLUMNS = field_columns(PrintFile)


def print_file_from_row(row: FileRow, printer_filter: tuple[int, ...] | None = None) -> PrintFile:
    return PrintFile(
        **row_values(row, _COLUMNS),
        average_print_duration=row.average_print_duration,
        printer_filter=printer_filter,
    )
