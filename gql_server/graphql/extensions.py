"""Schema extensions: static limits with cost reporting, and error masking."""

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from gql_server.graphql.limits import Measure, measure_operation

log = logging.getLogger("gql_server.errors")


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 8
    max_aliases: int = 15
    max_nodes: int = 50_000
    max_cost: int = 25_000
    introspection: bool = True


def _refusal(message: str, code: str, **details: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


def check_limits(measure: Measure, limits: Limits) -> GraphQLError | None:
    """The first limit the operation breaks, as an error with a stable code."""
    if measure.introspection and not limits.introspection:
        return _refusal("introspection is disabled on this server", "INTROSPECTION_DISABLED")
    if measure.depth > limits.max_depth:
        return _refusal(
            f"query depth {measure.depth} exceeds the limit of {limits.max_depth}",
            "QUERY_TOO_DEEP",
        )
    if measure.aliases > limits.max_aliases:
        return _refusal(
            f"{measure.aliases} aliases exceed the limit of {limits.max_aliases}",
            "TOO_MANY_ALIASES",
        )
    if measure.nodes > limits.max_nodes:
        return _refusal(
            f"the query may return {measure.nodes} nodes; the limit is {limits.max_nodes}",
            "TOO_MANY_NODES",
        )
    if measure.cost > limits.max_cost:
        return _refusal(
            f"query cost {measure.cost} exceeds the limit of {limits.max_cost}",
            "QUERY_TOO_COMPLEX",
        )
    return None


class QueryLimits(SchemaExtension):
    """Measures the operation after parsing and before validation and execution; an
    operation over a limit is refused whole. Every response reports
    ``extensions.cost = {requested, limit}``."""

    def __init__(self, *, limits: Limits, connection_fields: frozenset[str]) -> None:
        self.limits = limits
        self.connection_fields = connection_fields
        self.cost: int | None = None

    def on_validate(self) -> Iterator[None]:
        refusal = self._measure()
        if refusal is not None:
            # Set before validation runs: Strawberry then skips validation and returns it.
            self.execution_context.pre_execution_errors = [refusal]
        yield

    def _measure(self) -> GraphQLError | None:
        document = self.execution_context.graphql_document
        if document is None:
            return None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        operation = self._operation(document.definitions)
        if operation is None:
            return None  # validation will say why
        measure = measure_operation(
            operation, fragments, self.execution_context.variables, self.connection_fields
        )
        self.cost = measure.cost
        return check_limits(measure, self.limits)

    def _operation(self, definitions: Any) -> OperationDefinitionNode | None:
        operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
        name = self.execution_context.operation_name
        if name is None:
            return operations[0] if len(operations) == 1 else None
        return next((o for o in operations if o.name and o.name.value == name), None)

    def get_results(self) -> dict[str, Any]:
        return {"cost": {"requested": self.cost, "limit": self.limits.max_cost}}


def is_unexpected(error: GraphQLError) -> bool:
    """Raised by our code while executing, and not one of our deliberate errors.

    Syntax, validation and coercion errors have no path and stay readable; permission
    refusals and ApiErrors are GraphQLErrors on purpose.
    """
    original = error.original_error
    return (
        error.path is not None and original is not None and not isinstance(original, GraphQLError)
    )


class MaskUnexpectedErrors(SchemaExtension):
    """An unexpected exception reaches the client as a generic message and an error id;
    the log gets the same id with the traceback."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [
                self._mask(error) if is_unexpected(error) else error for error in errors
            ]

    def _mask(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex[:16]
        original = error.original_error
        log.error(
            "unexpected error %s at %s: %r",
            error_id,
            ".".join(str(p) for p in error.path or ()),
            original,
            exc_info=(type(original), original, original.__traceback__) if original else None,
            extra={"error_id": error_id},
        )
        return GraphQLError(
            f"Internal server error (error id {error_id})",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
        )
