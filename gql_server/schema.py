"""``gql_server.schema:schema`` for ``strawberry export-schema`` and tools."""

from gql_server.graphql.schema import schema

__all__ = ["schema"]
