"""Scope checks: one permission class per scope, required on every root field.

``schema.py`` refuses to build a schema with a root field that has none, so a field
added later cannot forget it. Authentication itself (401) happens before execution, in
the HTTP layer, for every operation.

The decorators below declare which scope each kind of root field needs, once:
``write_mutation`` (WRITE), ``admin_mutation`` (ADMIN) and ``read_subscription`` (READ).
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.types.field import StrawberryField

from gql_server.graphql.context import Info
from gql_server.services.auth import Scope

# Strawberry types its decorators called with arguments only (``@strawberry.mutation(
# description=...)``) as returning Any, which mypy --strict refuses as an untyped
# decorator; called with the resolver as well, they return the StrawberryField.
MutationResolver = Callable[..., Awaitable[Any]]
SubscriptionResolver = Callable[..., AsyncIterator[Any]]


class ScopePermission(BasePermission):
    scope: Scope = Scope.ADMIN
    error_extensions = {"code": "FORBIDDEN"}

    @property
    # BasePermission declares ``message`` as a plain attribute; a property lets the text
    # follow each subclass's scope, which mypy reports as an incompatible override.
    def message(self) -> str:  # type: ignore[override]
        return f"this API key lacks the {self.scope.value} scope"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        api_key = info.context.api_key
        return api_key is not None and api_key.allows(self.scope)


class CanRead(ScopePermission):
    scope = Scope.READ


class CanWrite(ScopePermission):
    scope = Scope.WRITE


class IsAdmin(ScopePermission):
    scope = Scope.ADMIN


def write_mutation(
    description: str | None = None,
) -> Callable[[MutationResolver], StrawberryField]:
    """A mutation that needs the WRITE scope."""
    return _mutation(CanWrite, description)


def admin_mutation(
    description: str | None = None,
) -> Callable[[MutationResolver], StrawberryField]:
    """A mutation that needs the ADMIN scope."""
    return _mutation(IsAdmin, description)


def read_subscription(
    description: str | None = None,
) -> Callable[[SubscriptionResolver], StrawberryField]:
    """A subscription that needs the READ scope."""

    def decorate(resolver: SubscriptionResolver) -> StrawberryField:
        return strawberry.subscription(
            resolver, description=description, permission_classes=[CanRead]
        )

    return decorate


def _mutation(
    permission: type[ScopePermission], description: str | None
) -> Callable[[MutationResolver], StrawberryField]:
    def decorate(resolver: MutationResolver) -> StrawberryField:
        return strawberry.mutation(
            resolver, description=description, permission_classes=[permission]
        )

    return decorate
