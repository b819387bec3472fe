"""What a person said about a job after the fact (annotatePrintJob)."""

from datetime import datetime
from typing import Any

import strawberry

from gql_server.graphql.types.enums import FailureReason
from gql_server.services.annotations import RATING_MAX, RATING_MIN


@strawberry.type(description="A note, failure reason and rating given to a job.")
class PrintJobAnnotation:
    note: str | None
    failure_reason: FailureReason | None
    rating: int | None = strawberry.field(description=f"From {RATING_MIN} to {RATING_MAX}.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")


def annotation_from_row(row: Any) -> PrintJobAnnotation:
    """``row``: a job_annotations row, the model or a Core row."""
    reason = row.failure_reason
    return PrintJobAnnotation(
        note=row.note,
        failure_reason=None if reason is None else FailureReason(reason),
        rating=row.rating,
        updated_at=row.updated_at,
    )


async def resolve_annotation(root: Any, info: strawberry.Info) -> PrintJobAnnotation | None:
    """Through the loader: a page of jobs reads its annotations in one statement, and
    only when the query selects them. ``info`` is not typed with our Context: the
    context module imports the job type, which imports this one."""
    row = await info.context.loaders.annotation.load(root.database_id)
    return None if row is None else annotation_from_row(row)
