"""Two units of work at once, lined up at a chosen statement: races made repeatable.

``meet_at`` holds each thread at its first statement that starts with a prefix until
every racer has reached one, so all of them have done their reads before any of them
writes: the interleaving a race needs, every time rather than now and then. A racer
that never gets there (it waits on a lock the other holds) releases the others after
``MEET_TIMEOUT_S``, so a fixed service lines up or serialises but never hangs the test.
``cut_in_before`` runs another writer between a unit of work's reads and its write.
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from gql_server.db.session import Database

MEET_TIMEOUT_S = 3.0
JOIN_TIMEOUT_S = 60.0


@contextmanager
def meet_at(engine: Engine, prefix: str, parties: int = 2) -> Iterator[None]:
    """Hold each thread's first statement starting with ``prefix`` (case-insensitive)
    until ``parties`` threads have reached theirs, or for MEET_TIMEOUT_S at most."""
    barrier = threading.Barrier(parties)
    met: set[int] = set()

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        thread = threading.get_ident()
        if thread in met or not statement.lstrip().upper().startswith(prefix.upper()):
            return
        met.add(thread)
        # Broken: the other racer waits on a lock we hold, so we go on alone.
        with suppress(threading.BrokenBarrierError):
            barrier.wait(MEET_TIMEOUT_S)

    event.listen(engine, "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", hold)


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def _run(work: Callable[[], Any], outcome: Outcome) -> None:
    try:
        outcome.value = work()
    except BaseException as exc:  # reported to the test
        outcome.error = exc


@contextmanager
def cut_in_before(engine: Engine, prefix: str, work: Callable[[], object]) -> Iterator[Outcome]:
    """Start ``work`` (another writer, in its own thread) once, just before the first
    statement that starts with ``prefix``, and let it finish first; or, when it waits
    on a lock held here, go on after MEET_TIMEOUT_S and let it finish after the commit.
    What it returned or raised, once the block has ended."""
    outcome = Outcome()
    started: list[threading.Thread] = []

    def cut_in(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if started or not statement.lstrip().upper().startswith(prefix.upper()):
            return
        started.append(threading.Thread(target=_run, args=(work, outcome), daemon=True))
        started[0].start()
        started[0].join(MEET_TIMEOUT_S)

    event.listen(engine, "before_cursor_execute", cut_in)
    try:
        yield outcome
    finally:
        event.remove(engine, "before_cursor_execute", cut_in)
        for thread in started:
            thread.join(JOIN_TIMEOUT_S)
            assert not thread.is_alive(), "the writer that cut in never finished"


def run_at_once(database: Database, works: Sequence[Callable[[Session], Any]]) -> list[Outcome]:
    """Each work in its own thread and unit of work (as two requests or two processes
    would run them); what each returned or raised, in the order given."""
    outcomes = [Outcome() for _ in works]
    threads = [
        threading.Thread(
            target=_run, args=(partial(database.scope_run, work), outcome), daemon=True
        )
        for work, outcome in zip(works, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    return outcomes
