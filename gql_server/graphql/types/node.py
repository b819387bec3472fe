"""The Relay ``Node`` interface every object type implements."""

from typing import Any

import strawberry

from gql_server.graphql.ids import to_global_id


@strawberry.interface(description="An object with an opaque global id.")
class Node:
    database_id: int = strawberry.field(description="The row id in our database.")

    @strawberry.field(description="Opaque global id; pass it to `node`.")
    def id(self) -> strawberry.ID:
        # Computed on demand: a fleet page holds thousands of objects whose ids are
        # rarely asked.
        return strawberry.ID(to_global_id(type(self).__name__, self.database_id))

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        """Our resolvers return instances of the type itself. Strawberry's default check
        for types with an interface also accepts casts and generic origins, and is run
        for each object of a page. The fast path (runtime/execution.py) relies on this
        check needing no resolve info."""
        return isinstance(obj, cls)
