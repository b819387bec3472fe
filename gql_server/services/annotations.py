"""Job annotations: a note, a failure reason and a rating given to a job after the fact.

Stored in job_annotations, keyed by the job's row, which imports and live updates never
write: a resync that rewrites a job (in_progress to completed) keeps what was said about
it. An annotation whose three fields are all cleared is deleted, so a job has either no
annotation or one with something in it.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from gql_server.db.models import JobAnnotation, PrintJob
from gql_server.db.tables import JOB_ANNOTATIONS
from gql_server.db.upsert import upsert_statement
from gql_server.services.errors import NotFoundError, ValidationError

NOTE_MAX = 2000
RATING_MIN = 1
RATING_MAX = 5
FIELDS = ("note", "failure_reason", "rating")


class FailureReason(enum.Enum):
    """Why a print failed, as printers' users usually name it; the value is stored."""

    ADHESION = "adhesion"
    SPAGHETTI = "spaghetti"
    CLOG = "clog"
    LAYER_SHIFT = "layer_shift"
    FILAMENT_RUNOUT = "filament_runout"
    POWER = "power"
    USER_CANCELLED = "user_cancelled"
    OTHER = "other"


class Unchanged(enum.Enum):
    """A field the caller left out: kept as it is (None clears it)."""

    KEEP = "keep"


KEEP = Unchanged.KEEP


@dataclass(frozen=True, slots=True)
class AnnotationChanges:
    note: str | Unchanged | None = KEEP
    failure_reason: FailureReason | Unchanged | None = KEEP
    rating: int | Unchanged | None = KEEP


def _checked_note(note: str | Unchanged | None) -> str | Unchanged | None:
    if not isinstance(note, str):
        return note
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(
            f"note is {len(note)} characters long; the maximum is {NOTE_MAX}",
            field="note",
            code="TOO_LONG",
        )
    return note or None  # a blank note says nothing: it clears the note


def _check_rating(rating: int | Unchanged | None) -> None:
    if isinstance(rating, int) and not RATING_MIN <= rating <= RATING_MAX:
        raise ValidationError(
            f"rating must be from {RATING_MIN} to {RATING_MAX}, got {rating}",
            field="rating",
            code="OUT_OF_RANGE",
        )


def annotate_print_job(
    session: Session, print_job_id: int, changes: AnnotationChanges, *, now: datetime
) -> JobAnnotation | None:
    """Apply ``changes`` to the job's annotation; the annotation as it now stands, or
    None when it holds nothing any more (and was deleted).

    The fields given are written by one upsert, never by reading the row and then
    inserting it: two first annotations of a job at once (two requests, two servers)
    both found no row and the second INSERT hit the primary key. Now the second one
    waits for the first's row lock and updates the row, so the later write wins, whole.
    """
    given = _given_fields(changes)
    if session.get(PrintJob, print_job_id) is None:
        raise NotFoundError(f"no print job with id {print_job_id}", field="id")
    row = {"print_job_id": print_job_id, **dict.fromkeys(FIELDS), **given}
    try:
        session.execute(
            _upsert(session, tuple(given)), {**row, "created_at": now, "updated_at": now}
        )
    except IntegrityError:
        # The only key the upsert can break is the job's: it was deleted since it was read.
        raise NotFoundError(f"no print job with id {print_job_id}", field="id") from None
    stored = session.get_one(JobAnnotation, print_job_id, populate_existing=True)
    if all(getattr(stored, name) is None for name in FIELDS):
        session.delete(stored)
        session.flush()
        return None
    return stored


def _given_fields(changes: AnnotationChanges) -> dict[str, object]:
    """The columns ``changes`` sets (None clears), checked; left-out fields are absent."""
    note = _checked_note(changes.note)
    _check_rating(changes.rating)
    reason = changes.failure_reason
    values: dict[str, object] = {
        "note": note,
        "failure_reason": reason.value if isinstance(reason, FailureReason) else reason,
        "rating": changes.rating,
    }
    return {name: value for name, value in values.items() if value is not KEEP}


def _upsert(session: Session, updated: tuple[str, ...]) -> Executable:
    return upsert_statement(
        session.get_bind().dialect,
        JOB_ANNOTATIONS,
        conflict_columns=["print_job_id"],
        update_columns=[*updated, "updated_at"],
    )


def fetch_annotations(session: Session, print_job_ids: Sequence[int]) -> dict[int, Any]:
    """The annotations of these jobs, by job id (absent: none)."""
    query = select(JobAnnotation.__table__).where(
        JobAnnotation.print_job_id.in_(list(print_job_ids))
    )
    return {row.print_job_id: row for row in session.execute(query)}
