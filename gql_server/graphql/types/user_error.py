"""Errors the caller can fix, returned as data in mutation payloads."""

import strawberry

from gql_server.services.errors import ServiceError


@strawberry.type(description="Something in the input the caller can fix.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault.")
    message: str
    code: str = strawberry.field(description="Stable code, e.g. DUPLICATE_NAME, NOT_FOUND.")


def user_error(error: ServiceError) -> UserError:
    field = None if error.field is None else ["input", error.field]
    return UserError(field=field, message=error.message, code=error.code)
