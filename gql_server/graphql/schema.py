"""The Strawberry schema: root types, extensions, and the rules every root field obeys."""

from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import Any

import strawberry
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult
from strawberry.types.base import get_object_definition
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from gql_server.graphql.documents import DocumentPreparer
from gql_server.graphql.extensions import DocumentGuard, Limits, MaskUnexpectedErrors
from gql_server.graphql.limits import sized_field_names
from gql_server.graphql.mutations.annotations import AnnotationMutations
from gql_server.graphql.mutations.api_keys import ApiKeyMutations
from gql_server.graphql.mutations.costs import CostMutations
from gql_server.graphql.mutations.maintenance import MaintenanceMutations
from gql_server.graphql.mutations.printers import PrinterMutations
from gql_server.graphql.mutations.sync import SyncMutations
from gql_server.graphql.permissions import ScopePermission
from gql_server.graphql.queries import Query
from gql_server.graphql.request_errors import invalid_variables_error, with_codes
from gql_server.graphql.runtime.execution import (
    execution_context_class,
    fast_path_supported,
    plan_fields,
)
from gql_server.graphql.subscriptions import Subscription
from gql_server.graphql.types.api_key import ApiKey
from gql_server.graphql.types.columns import assert_every_field_mapped
from gql_server.graphql.types.job_details import JobDetails
from gql_server.graphql.types.job_totals import JobTotals
from gql_server.graphql.types.print_file import PrintFile
from gql_server.graphql.types.print_job import PrintJob
from gql_server.graphql.types.printer import Printer

Mutation = merge_types(
    "Mutation",
    (
        PrinterMutations,
        ApiKeyMutations,
        SyncMutations,
        AnnotationMutations,
        MaintenanceMutations,
        CostMutations,
    ),
)
# The types behind the Node interface, each read from the rows of its table.
NODE_TYPES = (Printer, PrintJob, PrintFile, JobDetails, JobTotals, ApiKey)


class UnguardedFieldError(TypeError):
    """A root field without a scope permission: refused at start-up, not in production."""


def assert_every_root_field_guarded(root_types: tuple[type, ...]) -> None:
    for root in root_types:
        for field in get_object_definition(root, strict=True).fields:
            if not any(issubclass(p, ScopePermission) for p in field.permission_classes):
                raise UnguardedFieldError(
                    f"{root.__name__}.{field.python_name} has no scope permission "
                    "(CanRead / CanWrite / IsAdmin)"
                )


class Schema(strawberry.Schema):
    # Set by build_schema; the app starts its validation processes at start-up.
    document_preparer: DocumentPreparer | None = None

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Strawberry logs every error with its traceback, expected ones included;
        MaskUnexpectedErrors logs the unexpected ones, with the id the client sees."""

    # Narrower than Strawberry's signature on purpose: the keywords pass through as they
    # are, so a parameter a later Strawberry adds still reaches it.
    async def execute(  # type: ignore[override]
        self, query: str | None, variable_values: dict[str, Any] | None = None, **kw: Any
    ) -> ExecutionResult:
        """Refuse variables no argument may hold before anything runs, and give every
        error of the result a code (see request_errors)."""
        refused = invalid_variables_error(variable_values, kw.get("operation_name"))
        if refused is not None:
            return ExecutionResult(data=None, errors=[refused])
        # Subscriptions run over the websocket only (``stream``): over HTTP, Strawberry
        # refuses them with a 400 as it refuses a mutation over GET.
        allowed = kw.get("allowed_operation_types") or DEFAULT_ALLOWED_OPERATION_TYPES
        kw["allowed_operation_types"] = set(allowed) - {OperationType.SUBSCRIPTION}
        result = await super().execute(query, variable_values, **kw)
        if result.errors:
            result.errors = with_codes(result.errors)
        return result

    async def stream(  # type: ignore[override]
        self, query: str | None, variable_values: dict[str, Any] | None = None, **kw: Any
    ) -> AsyncGenerator[Any, None]:
        """``execute``'s rules for the operations of a websocket (subscriptions)."""
        refused = invalid_variables_error(variable_values, kw.get("operation_name"))
        if refused is not None:
            return _results(PreExecutionError(data=None, errors=[refused]))
        return _with_codes(await super().stream(query, variable_values, **kw))


async def _results(*results: ExecutionResult) -> AsyncGenerator[ExecutionResult, None]:
    for result in results:
        yield result


async def _with_codes(results: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    async with aclosing(results):
        async for result in results:
            if isinstance(result, ExecutionResult) and result.errors:
                result.errors = with_codes(result.errors)
            yield result


def build_schema(
    limits: Limits | None = None, extra_extensions: Sequence[Callable[[], Any]] = ()
) -> Schema:
    """The schema with its limits (from Settings; defaults otherwise) and the app's
    extra per-request extensions (metrics)."""
    assert_every_root_field_guarded((Query, Mutation, Subscription))
    assert_every_field_mapped(NODE_TYPES)
    limits = limits or Limits()
    # Off when asked (GQL_FAST_PATH=false) or with untested library versions.
    fast_path = limits.fast_path and fast_path_supported()
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(NODE_TYPES),
        # Extensions unwind in reverse: the ones given first see the masked errors.
        extensions=[*extra_extensions, MaskUnexpectedErrors],
        # Without introspection, no message may name a field the client did not send
        # (variable coercion says "Did you mean …?" otherwise).
        execution_context_class=execution_context_class(
            fast_path=fast_path, hide_suggestions=not limits.introspection
        ),
    )
    if fast_path:
        plan_fields(schema._schema)
    # The guard needs the built schema: to validate against, and to know which fields
    # are connections. One preparer (and its cache) serves every request.
    sized = sized_field_names(schema._schema)
    preparer = DocumentPreparer(
        schema._schema,
        timeout=limits.prepare_timeout,
        max_tokens=limits.max_tokens,
        hide_suggestions=not limits.introspection,
    )
    schema.extensions = (
        *schema.extensions,
        lambda: DocumentGuard(limits=limits, sized_fields=sized, preparer=preparer),
    )
    schema.document_preparer = preparer
    return schema


schema = build_schema()
