"""SQLite's one writer, shared by the farm's live history writes: group commit.

SQLite writes one transaction at a time. Each printer's event is one unit of work; the
units that arrive while a transaction runs wait, and then go together in the next one:
a burst (a farm starting its prints at once) costs a few transactions and thread hops
instead of one each, and no write sleeps in SQLite's busy handler, which backs off up to
100 ms a try whether or not the lock is free by then.

A unit that fails rolls its whole group back; the group's units are then run again one
by one, each in its own transaction, so one bad unit fails alone. Units must be safe to
repeat (``run_retrying_conflicts`` asks the same). Each caller gets its unit's result
once its transaction has committed.
"""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from gql_server.db.session import Database

T = TypeVar("T")

# Units per transaction: a long queue is written in several, each short.
MAX_GROUP = 64

Unit = tuple[Callable[[Session], Any], "asyncio.Future[Any]"]


class GroupCommit(Database):
    def __init__(self, database: Database, max_group: int = MAX_GROUP) -> None:
        super().__init__(database.engine)
        self.sessions = database.sessions
        self.max_group = max_group
        self._queue: list[Unit] = []
        self._draining: asyncio.Task[None] | None = None
        self.transactions = 0  # committed or not, for tests and benches

    async def run(self, work: Callable[[Session], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        group: list[Unit] = []
        try:
            while self._queue:
                group = [unit for unit in self._queue[: self.max_group] if not unit[1].done()]
                del self._queue[: self.max_group]
                if group:
                    await self._write(group)
        finally:
            # Cancelled (the loop is closing): nobody waits for these any more.
            for _, future in [*group, *self._queue]:
                future.cancel()
            self._queue.clear()

    async def _write(self, group: list[Unit]) -> None:
        def together(session: Session) -> list[Any]:
            return [work(session) for work, _ in group]

        self.transactions += 1
        try:
            results = await Database.run(self, together)
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][1], error=exc)
                return
            for unit in group:  # rolled back: each alone, so that only the bad one fails
                await self._write([unit])
            return
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: "asyncio.Future[Any]", *, result: Any = None, error: Exception | None = None
) -> None:
    """A caller cancelled meanwhile has stopped waiting: its unit's outcome is dropped."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
