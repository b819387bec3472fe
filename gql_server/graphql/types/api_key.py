"""An API key as the API shows it: never the secret, never its hash."""

from datetime import datetime

import strawberry

from gql_server.db.models import ApiKey as ApiKeyRow
from gql_server.graphql.types.columns import field_columns, row_values
from gql_server.graphql.types.enums import ApiKeyScope
from gql_server.graphql.types.node import Node
from gql_server.services.auth import ordered_scopes, parse_scopes


@strawberry.type(description="An API key; the secret is shown once, when it is created.")
class ApiKey(Node):
    name: str
    key_prefix: str = strawberry.field(description="The key's first characters, for display.")
    scopes: list[ApiKeyScope]
    is_active: bool
    last_used: datetime | None = strawberry.field(description="Updated at most once a minute.")
    expires_at: datetime | None
    created_at: datetime


_COLUMNS = field_columns(ApiKey)


def api_key_from_row(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        **row_values(row, _COLUMNS),
        scopes=[ApiKeyScope(scope.value) for scope in ordered_scopes(parse_scopes(row.scopes))],
    )
