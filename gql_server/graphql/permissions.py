"""Scope checks: one permission class per scope, required on every root field.

``schema.py`` refuses to build a schema with a root field that has none, so a field
added later cannot forget it. Authentication itself (401) happens before execution, in
the HTTP layer, for every operation.
"""

from typing import Any

from strawberry.permission import BasePermission

from gql_server.graphql.context import Info
from gql_server.services.auth import Scope


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
