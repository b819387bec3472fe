"""One print job from a printer's Moonraker history."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.types.cost import JobCost, job_cost
from gql_server.graphql.types.enums import JobStatus
from gql_server.graphql.types.job_details import JobDetails
from gql_server.graphql.types.node import Node

if TYPE_CHECKING:
    from gql_server.graphql.types.printer import Printer


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
    # Plain attributes, not resolvers: whoever builds a job hands over its printer and
    # details, fetched a whole page at a time, so a job costs no awaitable of its own
    # (graphql/runtime/, bench/fleet_query.py).

    @strawberry.field(
        description="What the job cost, from the prices in force when it started (read "
        "for a whole page at once)."
    )
    async def cost(self, info: strawberry.Info) -> JobCost:
        # strawberry.Info, not graphql.context.Info: the context imports the loaders,
        # which import this module (through runtime/).
        stored = await info.context.loaders.job_cost.load(self.database_id)
        return job_cost(stored, info.context.settings.currency)
