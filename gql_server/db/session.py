"""The unit of work: the only place that commits."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


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

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    def scope(self) -> AbstractContextManager[Session]:
        return session_scope(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()
