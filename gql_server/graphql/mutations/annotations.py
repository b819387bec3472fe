"""annotatePrintJob: a note, a failure reason and a rating on a job, after the fact."""

from typing import Any

import strawberry
from strawberry import UNSET

from gql_server.graphql.context import Info
from gql_server.graphql.mutations.outcome import attempt, input_id
from gql_server.graphql.permissions import write_mutation
from gql_server.graphql.queries import load_print_job
from gql_server.graphql.types.print_job import PrintJob
from gql_server.graphql.types.user_error import UserError
from gql_server.services import annotations
from gql_server.services.annotations import KEEP, AnnotationChanges, FailureReason


@strawberry.input(
    description="Omitted fields are left as they are; null clears a field. Clearing all "
    "three removes the annotation (PrintJob.annotation is null again)."
)
class AnnotatePrintJobInput:
    id: strawberry.ID = strawberry.field(description="The PrintJob's global id.")
    note: str | None = strawberry.field(
        default=UNSET,
        description=f"At most {annotations.NOTE_MAX} characters; leading and trailing "
        "spaces are dropped, and a blank note clears it.",
    )
    failure_reason: FailureReason | None = UNSET
    rating: int | None = strawberry.field(
        default=UNSET,
        description=f"From {annotations.RATING_MIN} to {annotations.RATING_MAX}; "
        "OUT_OF_RANGE otherwise.",
    )


@strawberry.type
class AnnotatePrintJobPayload:
    print_job: PrintJob | None = strawberry.field(description="The job, with its annotation.")
    user_errors: list[UserError]


def _kept(value: Any) -> Any:
    return KEEP if value is UNSET else value


@strawberry.type
class AnnotationMutations:
    @write_mutation(
        "Say why a job failed, rate it or leave a note. Imports and live "
        "updates never overwrite it."
    )
    async def annotate_print_job(
        self, info: Info, input: AnnotatePrintJobInput
    ) -> AnnotatePrintJobPayload:
        outcome = await attempt(lambda: _annotate(info, input))
        if outcome.user_errors:
            return AnnotatePrintJobPayload(print_job=None, user_errors=outcome.user_errors)
        job = await load_print_job(info, input_id(input.id, "PrintJob"))
        return AnnotatePrintJobPayload(print_job=job, user_errors=[])


async def _annotate(info: Info, data: AnnotatePrintJobInput) -> None:
    job_id = input_id(data.id, "PrintJob")
    changes = AnnotationChanges(
        note=_kept(data.note), failure_reason=_kept(data.failure_reason), rating=_kept(data.rating)
    )
    now = info.context.now()
    await info.context.write(lambda s: annotations.annotate_print_job(s, job_id, changes, now=now))
