"""The per-request context: database access off the event loop, loaders, the caller's key."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

import strawberry
from sqlalchemy.orm import Session

from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.graphql.loaders import Loaders
from gql_server.graphql.runtime.selection import JobSelection
from gql_server.services.auth import AuthenticatedKey
from gql_server.services.job_queries import JobOrder
from gql_server.services.live import EventHub, LiveService
from gql_server.services.sync import Syncer

T = TypeVar("T")


class AppServices(Protocol):
    """The app-wide collaborators resolvers use, held on the app's state (app.py)."""

    syncer: Syncer
    live: LiveService | None
    hub: EventHub


class MissingKeyError(RuntimeError):
    """A resolver that needs the caller's key ran without one: its field lacks a
    permission class (schema.py refuses such root fields, so this is our bug)."""


@dataclass
class Context:
    database: Database
    settings: Settings
    services: AppServices
    api_key: AuthenticatedKey | None = None  # set once authentication passed
    clock: Callable[[], datetime] = utcnow
    loaders: Loaders = field(init=False)
    # What each job connection of the operation selects, by response position
    # (runtime/selection.py). One context per operation: batched requests are not accepted.
    job_selections: dict[tuple[tuple[str, ...], JobOrder], JobSelection] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.read, self.now)

    def caller(self) -> AuthenticatedKey:
        """The caller's key, for resolvers behind a permission class."""
        if self.api_key is None:
            raise MissingKeyError("no authenticated API key in the context")
        return self.api_key

    def now(self) -> datetime:
        return self.clock()

    async def read(self, work: Callable[[Session], T]) -> T:
        return await self.database.run(work)

    write = read  # the same unit of work: commit on success, roll back on error


# The ``info`` of our resolvers: Strawberry recognises the parametrised form too.
Info = strawberry.Info[Context, None]
