"""Scopes are listed in one order everywhere: READ, WRITE, ADMIN."""

from gql_server.graphql.types.enums import ApiKeyScope
from gql_server.services.auth import Scope, format_scopes, ordered_scopes


def test_scopes_come_in_declaration_order_whatever_order_they_are_given() -> None:
    given = [Scope.ADMIN, Scope.READ, Scope.WRITE, Scope.READ]
    assert ordered_scopes(given) == [Scope.READ, Scope.WRITE, Scope.ADMIN]


def test_the_stored_form_uses_the_same_order() -> None:
    assert format_scopes([Scope.ADMIN, Scope.WRITE]) == "WRITE ADMIN"


def test_the_graphql_enum_lists_the_same_scopes_in_the_same_order() -> None:
    assert [scope.value for scope in ApiKeyScope] == [scope.value for scope in Scope]
