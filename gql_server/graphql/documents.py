"""Parsing, structural checks and validation of a document, off the event loop and once
per distinct text.

Parsing and the structural checks (nesting, fragment cycles) are linear and run in a
worker thread; validation, which is not linear, runs in a child process
(``validation_workers``). All three share one deadline (GQL_PREPARE_TIMEOUT): a document
over it is refused with QUERY_BUDGET_EXCEEDED and not cached, since under load a fair
document may be slow once.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

import anyio
import anyio.lowlevel
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    parse,
)

from gql_server.graphql.limits import DocumentRefused, check_structure
from gql_server.graphql.validation_workers import (
    WORKERS,
    Finding,
    ValidationPool,
    ValidationTimeout,
    WorkerUnavailable,
    findings,
    shared_pool,
)

CACHE_SIZE = 512  # distinct query texts kept prepared
# Characters of the accepted documents kept parsed. A parsed document holds about one
# Python object per character, and every full garbage collection walks them all: a full
# cache of unique documents made each collection stop the server for a long pause
# (bench/hostile_documents.py measures it). Refused documents are kept without their tree.
CACHE_CHARACTERS = 64 * 1024
# Threads waiting for a validation process, per event loop (anyio limiters belong to the
# loop that made them); the other requests wait as tasks, holding no thread.
_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("prepare_limiter")


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed document, or what refuses it for every request: a syntax error, a
    structural refusal, validation errors or the budget (then without its tree)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    fragments_in_order: tuple[FragmentDefinitionNode, ...] = ()
    cacheable: bool = True


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
    ) -> None:
        self.schema = schema
        self.hide_suggestions = hide_suggestions
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.pool: ValidationPool = shared_pool(hide_suggestions)
        self._cache: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._cached_characters = 0

    async def prepare(self, text: str) -> PreparedDocument:
        """From the cache on the loop, else prepared off it. The cache is only touched
        from the loop."""
        prepared = self._cache.get(text)
        if prepared is not None:
            self._cache.move_to_end(text)
            return prepared
        prepared = await anyio.to_thread.run_sync(self.prepare_now, text, limiter=_limiter_here())
        if prepared.cacheable:
            self._remember(text, prepared)
        return prepared

    def _remember(self, text: str, prepared: PreparedDocument) -> None:
        self._cache[text] = prepared
        self._cached_characters += _weight(text, prepared)
        while len(self._cache) > CACHE_SIZE or self._cached_characters > CACHE_CHARACTERS:
            old_text, old = self._cache.popitem(last=False)
            self._cached_characters -= _weight(old_text, old)

    def prepare_now(self, text: str) -> PreparedDocument:
        """Blocking: call it from a worker thread."""
        deadline = time.monotonic() + self.timeout
        try:
            document = parse(text, max_lexical_tokens=self.max_tokens, max_comments=self.max_tokens)
        except GraphQLSyntaxError as error:
            return PreparedDocument(None, (coded(error, "GRAPHQL_PARSE_FAILED"),))
        try:
            fragments = tuple(check_structure(document))
            found = self._validate(text, max(0.0, deadline - time.monotonic()))
        except DocumentRefused as refused:
            return PreparedDocument(None, (refusal(refused.message, refused.code),))
        except ValidationTimeout:
            message = f"checking the document took more than {self.timeout:g} s"
            budget = refusal(message, "QUERY_BUDGET_EXCEEDED")
            return PreparedDocument(None, (budget,), cacheable=False)
        errors = _errors(document, found)
        return PreparedDocument(None if errors else document, errors, fragments)

    def _validate(self, text: str, timeout: float) -> list[Finding]:
        try:
            return self.pool.validate(text, timeout)
        except WorkerUnavailable:
            return findings(self.schema, text, self.hide_suggestions)


def _weight(text: str, prepared: PreparedDocument) -> int:
    return 0 if prepared.document is None else len(text)


def _errors(document: DocumentNode, found: list[Finding]) -> tuple[GraphQLError, ...]:
    """graphql-core aborting with nothing found means its complexity budget ran out;
    after errors it means there were too many to list, and the document is invalid."""
    if len(found) == 1 and found[0].aborted:
        message = "the document has too many fields to compare for validation"
        return (refusal(message, "QUERY_BUDGET_EXCEEDED"),)
    return tuple(_error(document, finding) for finding in found)


def _error(document: DocumentNode, finding: Finding) -> GraphQLError:
    return GraphQLError(
        finding.message,
        source=document.loc.source if document.loc else None,
        positions=list(finding.positions) or None,
        extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
    )


def _limiter_here() -> anyio.CapacityLimiter:
    try:
        return _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(WORKERS)
        _limiter.set(limiter)
        return limiter
