"""Parsing and validating documents off the event loop, once per distinct text.

graphql-core's validation is not linear: a document of a few hundred tokens that repeats
one field, or spreads many fragments side by side, keeps OverlappingFieldsCanBeMerged
busy for most of a second (bench/hostile_documents.py measures them). On the event loop
that would stall every other request, /healthz included. So a document the cache does
not hold is parsed, checked for structure (nesting, fragment cycles) and validated in a
worker thread, ``PREPARE_THREADS`` at a time, under a deadline checked between the AST
nodes validation visits. A document over its deadline is refused with
QUERY_BUDGET_EXCEEDED and not cached: under load a fair document may be slow once.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    parse,
    specified_rules,
    validate,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gql_server.graphql.limits import DocumentRefused, check_structure

PREPARE_THREADS = 2  # documents prepared at once; the others wait their turn
CACHE_SIZE = 512  # distinct query texts kept prepared
VALIDATION_RULES = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)
# Per event loop: anyio limiters belong to the loop that made them.
_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("prepare_limiter")


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed document and what refuses it for every request: a syntax error, a
    structural refusal, validation errors or the budget. Empty ``errors``: valid."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    fragments_in_order: tuple[FragmentDefinitionNode, ...] = ()
    cacheable: bool = True


class BudgetExceeded(Exception):
    pass


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise BudgetExceeded


def coded(error: GraphQLError, code: str) -> GraphQLError:
    """The same error with a stable ``extensions.code``."""
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )


def refusal(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


class DocumentPreparer:
    """One per schema. ``hide_suggestions`` keeps validation messages from naming
    fields ("Did you mean 'name'?"), which would map a schema whose introspection is
    off."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        timeout: float,
        max_tokens: int,
        hide_suggestions: bool,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.schema = schema
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.hide_suggestions = hide_suggestions
        self.cache_size = cache_size
        self._cache: OrderedDict[str, PreparedDocument] = OrderedDict()

    async def prepare(self, text: str) -> PreparedDocument:
        """From the cache on the loop, else prepared in a worker thread. The cache is
        only touched from the loop."""
        prepared = self._cache.get(text)
        if prepared is not None:
            self._cache.move_to_end(text)
            return prepared
        prepared = await anyio.to_thread.run_sync(self.prepare_now, text, limiter=_limiter_here())
        if prepared.cacheable:
            self._cache[text] = prepared
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return prepared

    def prepare_now(self, text: str) -> PreparedDocument:
        deadline = Deadline(self.timeout)
        try:
            document = parse(text, max_lexical_tokens=self.max_tokens, max_comments=self.max_tokens)
        except GraphQLSyntaxError as error:
            return PreparedDocument(None, (coded(error, "GRAPHQL_PARSE_FAILED"),))
        try:
            fragments = tuple(check_structure(document))
            deadline.check()
            errors = self._validate(document, deadline)
        except DocumentRefused as refused:
            return PreparedDocument(document, (refusal(refused.message, refused.code),))
        except BudgetExceeded:
            message = f"checking the document took more than {deadline.seconds:g} s"
            refused_error = refusal(message, "QUERY_BUDGET_EXCEEDED")
            return PreparedDocument(document, (refused_error,), cacheable=False)
        return PreparedDocument(document, errors, fragments)

    def _validate(self, document: DocumentNode, deadline: Deadline) -> tuple[GraphQLError, ...]:
        rules = (*VALIDATION_RULES, _deadline_rule(deadline))
        errors = validate(self.schema, document, rules, hide_suggestions=self.hide_suggestions)
        return tuple(coded(error, "GRAPHQL_VALIDATION_FAILED") for error in errors)


def _deadline_rule(deadline: Deadline) -> type[ASTValidationRule]:
    """A validation rule that stops validation once the deadline has passed; validate()
    runs every rule on each node as it walks, so this is checked between nodes."""

    class DeadlineRule(ASTValidationRule):
        def enter(self, *_args: Any) -> None:
            deadline.check()

    return DeadlineRule


def _limiter_here() -> anyio.CapacityLimiter:
    try:
        return _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(PREPARE_THREADS)
        _limiter.set(limiter)
        return limiter
