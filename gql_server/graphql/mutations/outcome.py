"""Where a mutation's refusals become ``userErrors``: every mutation runs its work
through ``attempt``, and a ``ServiceError`` becomes a ``UserError`` with the service's
code and field, here and nowhere else. Ids in the input follow the rule of
graphql/ids.py: ``INVALID_ID`` when malformed or of another type, ``NOT_FOUND`` (from
the service) when well-formed but of no row.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gql_server.graphql.errors import ApiError
from gql_server.graphql.ids import database_id
from gql_server.graphql.types.user_error import UserError
from gql_server.services.errors import ServiceError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What the work returned, or the refusals to put in the payload instead."""

    value: T | None
    user_errors: list[UserError]


async def attempt(work: Callable[[], Awaitable[T]]) -> Outcome[T]:
    try:
        return Outcome(await work(), [])
    except ServiceError as refused:
        field = None if refused.field is None else ["input", refused.field]
        return Outcome(None, [UserError(field=field, message=refused.message, code=refused.code)])


def input_id(global_id: str, expected_type: str, *, field: str = "id") -> int:
    """The database id inside a global id of the input, or a refusal that ``attempt``
    turns into the userError the same id gets as a query error (``INVALID_ID``)."""
    try:
        return database_id(global_id, expected_type)
    except ApiError as invalid:
        code = str((invalid.extensions or {})["code"])
        raise ServiceError(invalid.message, field=field, code=code) from None
