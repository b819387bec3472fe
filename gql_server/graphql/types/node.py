"""The Relay ``Node`` interface every object type implements."""

import strawberry


@strawberry.interface(description="An object with an opaque global id.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id; pass it to `node`.")
    database_id: int = strawberry.field(description="The row id in our database.")
