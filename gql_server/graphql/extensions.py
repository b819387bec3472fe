"""Schema extensions: document preparation and static limits with cost reporting, and
error masking."""

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import MaskErrors, SchemaExtension

from gql_server.config import DEFAULTS
from gql_server.graphql.documents import DocumentPreparer, PreparedDocument, refusal
from gql_server.graphql.errors import masked_error
from gql_server.graphql.limits import DocumentRefused, Measure, measure_operation

REFUSED_STAND_IN = parse("{ __typename }")


@dataclass(frozen=True, slots=True)
class Limits:
    """The settings the GraphQL layer obeys (config.Settings holds them with the rest)."""

    max_depth: int = DEFAULTS.max_depth
    max_aliases: int = DEFAULTS.max_aliases
    max_nodes: int = DEFAULTS.max_nodes
    max_cost: int = DEFAULTS.max_cost
    max_tokens: int = DEFAULTS.max_tokens
    introspection: bool = DEFAULTS.introspection
    prepare_timeout: float = DEFAULTS.prepare_timeout
    # Plain fields read directly (graphql/runtime/execution.py); off: graphql-core's own way.
    fast_path: bool = DEFAULTS.fast_path


# (Measure attribute, Limits attribute, code, message given the two numbers)
COUNTED_LIMITS = (
    ("depth", "max_depth", "QUERY_TOO_DEEP", "query depth {} exceeds the limit of {}"),
    ("aliases", "max_aliases", "TOO_MANY_ALIASES", "{} aliases exceed the limit of {}"),
    ("nodes", "max_nodes", "TOO_MANY_NODES", "the query may return {} nodes; the limit is {}"),
    ("cost", "max_cost", "QUERY_TOO_COMPLEX", "query cost {} exceeds the limit of {}"),
)


def check_limits(measure: Measure, limits: Limits) -> GraphQLError | None:
    """The first limit the operation breaks, as an error with a stable code."""
    if measure.introspection and not limits.introspection:
        return refusal("introspection is disabled on this server", "INTROSPECTION_DISABLED")
    for measured, limit_name, code, message in COUNTED_LIMITS:
        found, limit = getattr(measure, measured), getattr(limits, limit_name)
        if found > limit:
            return refusal(message.format(found, limit), code)
    return None


class DocumentGuard(SchemaExtension):
    """Everything between the query text and execution: the document is prepared
    (parsed, checked for structure, validated) off the event loop by the shared
    ``DocumentPreparer``, then the operation is measured against the limits with this
    request's variables. Anything refused is refused whole, before execution. Every
    response reports ``extensions.cost = {requested, limit}``."""

    def __init__(
        self, *, limits: Limits, sized_fields: Mapping[str, int | None], preparer: DocumentPreparer
    ) -> None:
        self.limits = limits
        self.sized_fields = sized_fields
        self.preparer = preparer
        self.prepared: PreparedDocument | None = None
        self.cost: int | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            self.prepared = await self.preparer.prepare(context.query)
            if self.prepared.document is None:
                # Refused. Strawberry parses when no document is set; a stand-in
                # document with the errors already recorded keeps it from parsing again
                # on the loop, and it returns them as it would its own.
                context.graphql_document = REFUSED_STAND_IN
                context.pre_execution_errors = list(self.prepared.errors)
            else:
                context.graphql_document = self.prepared.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.prepared is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = self._refusals(self.prepared)
        yield

    def _refusals(self, prepared: PreparedDocument) -> list[GraphQLError]:
        if prepared.errors or prepared.document is None:
            return list(prepared.errors)
        operation = self._operation(prepared.document.definitions)
        if operation is None:
            return []  # graphql-core says which operation is missing or ambiguous
        try:
            measure = measure_operation(
                operation,
                list(prepared.fragments_in_order),
                self.execution_context.variables,
                self.sized_fields,
            )
        except DocumentRefused as refused:
            return [refusal(refused.message, refused.code)]
        self.cost = measure.cost
        refused_error = check_limits(measure, self.limits)
        return [] if refused_error is None else [refused_error]

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


class MaskUnexpectedErrors(MaskErrors):
    """Strawberry's masking (it finds the errors of every kind of result) with our
    form of a masked error: a generic message, a stable code and an error id, logged
    with the traceback (graphql/errors.py)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        # is_unexpected let only errors with an original exception through.
        original = error.original_error or error
        return masked_error(error, original, where=_path(error))


def _path(error: GraphQLError) -> str:
    return "at " + ".".join(str(part) for part in error.path or ())
