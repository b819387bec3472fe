"""Errors of a request as a whole: every one carries a stable ``extensions.code``.

Errors raised while executing a field get their code where they are raised (ApiError) or
from the masking extension. What is left comes from before execution: graphql-core's
syntax, validation and variable coercion errors (readable, they only lack a code), and
an exception escaping a schema extension, which Strawberry turns into an error with
the exception's text; that one is masked here like any unexpected error (the masking
extension cannot see it: Strawberry builds that error after every extension's
``on_operation`` has ended).
"""

import math
from collections.abc import Iterator, Sequence
from typing import Any

from graphql import GraphQLError

from gql_server.graphql.errors import masked_error

# The code metrics already count for an error without one (observability/metrics.py).
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INVALID_TEXT = "INVALID_TEXT"
INVALID_NUMBER = "INVALID_NUMBER"


def with_codes(errors: Sequence[GraphQLError]) -> list[GraphQLError]:
    return [_with_code(error) for error in errors]


def _with_code(error: GraphQLError) -> GraphQLError:
    if (error.extensions or {}).get("code") is not None:
        return error
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return masked_error(error, original, where="before execution")
    error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}
    return error


def invalid_variables_error(*values: Any) -> GraphQLError | None:
    """Values that decoded JSON can hold and no argument should: text with a lone
    surrogate ("\\ud800"), which no database driver can encode (the GraphQL lexer
    refuses it in the query text), and a number that is not finite (NaN, Infinity and
    1e400, which Python's JSON decoder accepts). Checked once here for every argument."""
    for value in _leaves(values):
        if isinstance(value, str) and not _encodable(value):
            return GraphQLError(
                "a variable or the operation name holds text that is not valid Unicode "
                "(a lone surrogate)",
                extensions={"code": INVALID_TEXT},
            )
        if isinstance(value, float) and not math.isfinite(value):
            return GraphQLError(
                f"a variable holds a number that is not finite ({value})",
                extensions={"code": INVALID_NUMBER},
            )
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _leaves(values: Any) -> Iterator[Any]:
    """Every scalar of decoded JSON, keys included; a stack, not recursion, whatever the
    nesting depth."""
    stack = [values]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
        else:
            yield value
