"""createApiKey (the plaintext key appears in this payload only) and revokeApiKey."""

from datetime import datetime

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.errors import ApiError
from gql_server.graphql.ids import database_id
from gql_server.graphql.permissions import IsAdmin
from gql_server.graphql.types.api_key import ApiKey, api_key_from_row
from gql_server.graphql.types.enums import ApiKeyScope
from gql_server.graphql.types.user_error import UserError, user_error
from gql_server.services import api_keys
from gql_server.services.auth import Scope, format_scopes
from gql_server.services.errors import ServiceError
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
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        try:
            check_items(input.scopes, field="scopes")
            scopes = format_scopes(Scope(scope.value) for scope in input.scopes)
            expires_at = to_utc(input.expires_at, field="expiresAt")
            created = await info.context.write(
                lambda s: api_keys.create_api_key(
                    s,
                    name=input.name,
                    scopes=scopes,
                    expires_at=expires_at,
                    now=info.context.now(),
                )
            )
        except ServiceError as exc:
            return CreateApiKeyPayload(api_key=None, key=None, user_errors=[user_error(exc)])
        return CreateApiKeyPayload(
            api_key=api_key_from_row(created.api_key), key=created.plaintext, user_errors=[]
        )

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        try:
            key_id = database_id(input.id, "ApiKey")
            row = await info.context.write(lambda s: api_keys.revoke_api_key(s, key_id))
        except ApiError as exc:
            error = UserError(field=["input", "id"], message=exc.message, code="NOT_FOUND")
            return RevokeApiKeyPayload(api_key=None, user_errors=[error])
        except ServiceError as exc:
            return RevokeApiKeyPayload(api_key=None, user_errors=[user_error(exc)])
        return RevokeApiKeyPayload(api_key=api_key_from_row(row), user_errors=[])
