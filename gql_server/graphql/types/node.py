"""The Relay ``Node`` interface every object type implements."""

from typing import Any, Self

import strawberry

from gql_server.graphql.ids import to_global_id


@strawberry.interface(description="An object with an opaque global id.")
class Node:
    database_id: int = strawberry.field(description="The row id in our database.")

    @strawberry.field(description="Opaque global id; pass it to `node`.")
    def id(self) -> strawberry.ID:
        # Computed on demand: a fleet page holds 2,000 objects whose ids are rarely asked.
        return strawberry.ID(to_global_id(type(self).__name__, self.database_id))

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        """Our resolvers return instances of the type itself. Strawberry's default check
        for types with an interface also accepts casts and generic origins, and is run
        for each of the ~3,000 objects of a fleet page."""
        return isinstance(obj, cls)

    @classmethod
    def from_fields(cls, empty: dict[str, Any], fields: dict[str, Any]) -> Self:
        """An instance from ``empty`` (every data field, None) updated with ``fields``.

        Skips the generated ``__init__``, whose ~17 keyword arguments per object cost
        ~5 ms on the 2,000 jobs and details of a fleet page (bench/fleet_query.py); the
        result is the same object, every field set.
        """
        instance = object.__new__(cls)
        instance.__dict__.update(empty)
        instance.__dict__.update(fields)
        return instance
