"""The per-request context: database access off the event loop, loaders, the caller's key."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.graphql.loaders import Loaders

T = TypeVar("T")


@dataclass
class Context:
    database: Database
    settings: Settings
    api_key: Any = None  # services.auth.AuthenticatedKey once authentication passed
    services: Any = None  # app-wide collaborators (sync runner, metrics), set by the app
    clock: Callable[[], datetime] = utcnow
    loaders: Loaders = field(init=False)
    # What each job connection of the operation selects, by response position
    # (selection.py). One context per operation: batched requests are not accepted.
    job_selections: dict[tuple[Any, ...], Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.read)

    def now(self) -> datetime:
        return self.clock()

    async def read(self, work: Callable[[Session], T]) -> T:
        return await self.database.run(work)

    write = read  # the same unit of work: commit on success, roll back on error
