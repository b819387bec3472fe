"""One print job from a printer's Moonraker history."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.types.annotation import PrintJobAnnotation, resolve_annotation
from gql_server.graphql.types.cost import JobCost, job_cost
from gql_server.graphql.types.enums import JobStatus
from gql_server.graphql.types.job_details import JobDetails
from gql_server.graphql.types.node import Node

if TYPE_CHECKING:
    from gql_server.graphql.types.print_file import PrintFile
    from gql_server.graphql.types.printer import Printer

# Resolvers here take strawberry.Info, not graphql.context's Info: the context imports
# the loaders, which import this module (runtime/selection.py).


@strawberry.type(description="One job of a printer's print history.")
class PrintJob(Node):
    job_id: str = strawberry.field(description="Moonraker's job id (reused after a reset).")
    user: str | None
    filename: str
    status: JobStatus
    start_time: datetime
    end_time: datetime | None
    print_duration: float | None = strawberry.field(description="Seconds.")
    total_duration: float | None = strawberry.field(description="Seconds.")
    filament_used: float | None = strawberry.field(description="Millimetres.")
    metadata: JSON | None
    auxiliary_data: JSON | None
    created_at: datetime
    updated_at: datetime
    printer: Annotated["Printer", strawberry.lazy("gql_server.graphql.types.printer")]
    job_details: JobDetails | None
    annotation: PrintJobAnnotation | None = strawberry.field(
        resolver=resolve_annotation,
        description="What was said about the job (annotatePrintJob); null when nothing. "
        "Imports and live updates never change it.",
    )
    # Plain attributes, not resolvers: whoever builds a job hands over its printer and
    # details, fetched a whole page at a time, so a job costs no awaitable of its own
    # (graphql/runtime/, bench/fleet_query.py).

    @strawberry.field(description="The file it printed, with figures over every job of it.")
    async def file(
        self, info: strawberry.Info
    ) -> Annotated["PrintFile", strawberry.lazy("gql_server.graphql.types.print_file")]:
        from gql_server.graphql.types.print_file import print_file_from_row

        return print_file_from_row(await info.context.loaders.file_of_job.load(self.database_id))

    @strawberry.field(
        description="How far the slicer's time estimate was off: (printDuration - "
        "estimatedTime) / estimatedTime, so 0.1 means the print took 10 % longer than "
        "estimated and -0.1 that it was 10 % quicker. Only for completed jobs with a print "
        "duration and a positive estimate (jobDetails.estimatedTime, from the file's "
        "metadata); null otherwise."
    )
    async def estimate_error(self, info: strawberry.Info) -> float | None:
        error: float | None = await info.context.loaders.estimate_error.load(self.database_id)
        return error

    @strawberry.field(
        description="What the job cost, from the prices in force when it started (read "
        "for a whole page at once)."
    )
    async def cost(self, info: strawberry.Info) -> JobCost:
        # strawberry.Info, not graphql.context.Info: the context imports the loaders,
        # which import this module (through runtime/).
        stored = await info.context.loaders.job_cost.load(self.database_id)
        return job_cost(stored, info.context.settings.currency)
