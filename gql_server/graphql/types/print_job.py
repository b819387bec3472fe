"""One print job from a printer's Moonraker history."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from gql_server.graphql.types.annotation import PrintJobAnnotation, resolve_annotation
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
    annotation: PrintJobAnnotation | None = strawberry.field(
        resolver=resolve_annotation,
        description="What was said about the job (annotatePrintJob); null when nothing. "
        "Imports and live updates never change it.",
    )
    # Plain attributes, not resolvers: whoever builds a job hands over its printer and
    # details, fetched a whole page at a time, so a job costs no awaitable of its own
    # (graphql/runtime/, bench/fleet_query.py).
