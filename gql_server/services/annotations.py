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
from sqlalchemy.orm import Session

from gql_server.db.models import JobAnnotation, PrintJob
from gql_server.services.errors import NotFoundError, ValidationError

NOTE_MAX = 2000
RATING_MIN = 1
RATING_MAX = 5


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
    None when it holds nothing any more (and was deleted)."""
    note = _checked_note(changes.note)
    _check_rating(changes.rating)
    if session.get(PrintJob, print_job_id) is None:
        raise NotFoundError(f"no print job with id {print_job_id}", field="id")
    current = session.get(JobAnnotation, print_job_id)
    values = {
        "note": None if current is None else current.note,
        "failure_reason": None if current is None else current.failure_reason,
        "rating": None if current is None else current.rating,
    }
    if note is not KEEP:
        values["note"] = note
    if not isinstance(changes.failure_reason, Unchanged):
        reason = changes.failure_reason
        values["failure_reason"] = None if reason is None else reason.value
    if not isinstance(changes.rating, Unchanged):
        values["rating"] = changes.rating
    if all(value is None for value in values.values()):
        if current is not None:
            session.delete(current)
        return None
    if current is None:
        current = JobAnnotation(print_job_id=print_job_id, created_at=now)
        session.add(current)
    for name, value in values.items():
        setattr(current, name, value)
    current.updated_at = now
    session.flush()
    return current


def fetch_annotations(session: Session, print_job_ids: Sequence[int]) -> dict[int, Any]:
    """The annotations of these jobs, by job id (absent: none)."""
    query = select(JobAnnotation.__table__).where(
        JobAnnotation.print_job_id.in_(list(print_job_ids))
    )
    return {row.print_job_id: row for row in session.execute(query)}
