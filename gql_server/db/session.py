"""The unit of work: the only place that commits."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

from anyio import to_thread
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after the scope closes, which the
    # GraphQL layer relies on when it maps rows to types outside the transaction.
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit when the block succeeds, roll back when it raises, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database:
    """An engine and its session factory: what every layer above needs to reach SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = make_session_factory(engine)

    def scope(self) -> AbstractContextManager[Session]:
        return session_scope(self.sessions)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a worker thread inside its own unit of work.

        SQLAlchemy's engine with PyMySQL blocks, and an async MySQL driver is not in our
        stack, so async callers hop to anyio's thread pool; each call gets its own
        session, so concurrent callers never share one.
        """
        return await to_thread.run_sync(self.scope_run, work)

    def scope_run(self, work: Callable[[Session], T]) -> T:
        """``work`` in a unit of work, in the calling thread."""
        with self.scope() as session:
            return work(session)

    def dispose(self) -> None:
        self.engine.dispose()
