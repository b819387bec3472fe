"""Errors raised to clients with a stable ``extensions.code``."""

from graphql import GraphQLError


class ApiError(GraphQLError):
    """An expected failure: its message and code reach the client unmasked."""

    def __init__(self, message: str, code: str, *, field: str | None = None) -> None:
        extensions: dict[str, object] = {"code": code}
        if field is not None:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)
