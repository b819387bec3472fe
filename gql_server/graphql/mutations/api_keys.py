"""createApiKey (the plaintext key appears in this payload only) and revokeApiKey."""

from datetime import datetime

import strawberry

from gql_server.db.models import ApiKey as ApiKeyRow
from gql_server.graphql.context import Info
from gql_server.graphql.mutations.outcome import attempt, input_id
from gql_server.graphql.permissions import admin_mutation
from gql_server.graphql.types.api_key import ApiKey, api_key_from_row
from gql_server.graphql.types.enums import ApiKeyScope
from gql_server.graphql.types.user_error import UserError
from gql_server.services import api_keys
from gql_server.services.auth import Scope, format_scopes
from gql_server.services.input_bounds import LIST_MAX, check_items, to_utc


@strawberry.input
class CreateApiKeyInput:
    name: str = strawberry.field(description=f"At most {api_keys.NAME_MAX} characters.")
    scopes: list[ApiKeyScope] = strawberry.field(description=f"At most {LIST_MAX} items.")
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="Null: never. Without a zone: UTC. Must stay within years 1-9999 "
        "once moved to UTC.",
    )


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None
    key: str | None = strawberry.field(
        description="The plaintext key. Shown only here, only once: store it now."
    )
    user_errors: list[UserError]


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None
    user_errors: list[UserError]


@strawberry.type
class ApiKeyMutations:
    @admin_mutation()
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        outcome = await attempt(lambda: _create(info, input))
        created = outcome.value
        if created is None:
            return CreateApiKeyPayload(api_key=None, key=None, user_errors=outcome.user_errors)
        return CreateApiKeyPayload(
            api_key=api_key_from_row(created.api_key), key=created.plaintext, user_errors=[]
        )

    @admin_mutation()
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        outcome = await attempt(lambda: _revoke(info, input))
        row = outcome.value
        api_key = None if row is None else api_key_from_row(row)
        return RevokeApiKeyPayload(api_key=api_key, user_errors=outcome.user_errors)


async def _create(info: Info, data: CreateApiKeyInput) -> api_keys.CreatedKey:
    check_items(data.scopes, field="scopes")
    scopes = format_scopes(Scope(scope.value) for scope in data.scopes)
    expires_at = to_utc(data.expires_at, field="expiresAt")
    return await info.context.write(
        lambda s: api_keys.create_api_key(
            s, name=data.name, scopes=scopes, expires_at=expires_at, now=info.context.now()
        )
    )


async def _revoke(info: Info, data: RevokeApiKeyInput) -> ApiKeyRow:
    key_id = input_id(data.id, "ApiKey")
    return await info.context.write(lambda s: api_keys.revoke_api_key(s, key_id))
