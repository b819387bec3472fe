"""Errors the caller can fix, returned as data in mutation payloads."""

import strawberry


@strawberry.type(description="Something in the input the caller can fix.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault.")
    message: str
    code: str = strawberry.field(
        description="Stable code, e.g. DUPLICATE_NAME; NOT_FOUND for a well-formed id of no "
        "row, INVALID_ID for a malformed id or an id of another type."
    )
