"""Errors raised to clients with a stable ``extensions.code``, and the masked form of an
unexpected one."""

import logging
import uuid

from graphql import GraphQLError

from gql_server.services.errors import ServiceError

log = logging.getLogger("gql_server.errors")

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ApiError(GraphQLError):
    """An expected failure: its message and code reach the client unmasked."""

    def __init__(self, message: str, code: str, *, field: str | None = None) -> None:
        extensions: dict[str, object] = {"code": code}
        if field is not None:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


def api_error(refused: ServiceError, *, field: str | None = None) -> ApiError:
    """A service's refusal as a query's error, with the service's code; ``field`` names
    the argument when the service's own field name is not the whole path."""
    return ApiError(refused.message, refused.code, field=field or refused.field)


def masked_error(error: GraphQLError, original: BaseException, *, where: str) -> GraphQLError:
    """What the client sees of an unexpected exception: a generic message, a stable code
    and an id. The log line gets the same id with the whole traceback, so an operator
    finds it from the client's error."""
    error_id = uuid.uuid4().hex[:16]
    log.error(
        "unexpected error %s %s: %r",
        error_id,
        where,
        original,
        exc_info=(type(original), original, original.__traceback__),
        extra={"error_id": error_id},
    )
    return GraphQLError(
        f"Internal server error (error id {error_id})",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": INTERNAL_SERVER_ERROR, "errorId": error_id},
    )
