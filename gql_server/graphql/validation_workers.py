"""Validation in child processes, each killed when a document overruns its deadline.

graphql-core's validation is not linear: a document of a few hundred tokens that repeats
one field, or spreads many fragments side by side, keeps OverlappingFieldsCanBeMerged
busy for most of a second. In a thread of the server that still starves the event loop
of the GIL: /healthz slowed by an order of magnitude while two clients sent such
documents (bench/hostile_documents.py measures it, tests/graphql/test_hostile_documents.py
holds the bound). In a child
process it costs the server a pipe, and a deadline can be enforced by killing the child,
which no thread allows; the next document gets a fresh one.

A child is ``python -m gql_server.graphql.validation_workers`` speaking JSON lines on
its standard input and output: no fork of a threaded server, no re-import of the
server's main module. Children start lazily and are shared by every schema of the
process that hides suggestions the same way: validation depends only on the types,
which every schema built by ``build_schema`` shares. Where no child can be started,
validation runs in the calling thread, as it would without this module.
"""

import json
import logging
import queue
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from graphql import GraphQLSchema, parse, specified_rules, validate
from graphql.validation.validate import ValidationAbortedError
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

log = logging.getLogger(__name__)

VALIDATION_RULES = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)
WORKERS = 2  # documents validated at once per process; matches a small server's cores
START_TIMEOUT = 60.0  # seconds for a child to import the schema and say it is ready
READY = "ready"


@dataclass(frozen=True, slots=True)
class Finding:
    """One validation error as it crosses the pipe: graphql-core errors hold AST nodes."""

    message: str
    positions: tuple[int, ...]
    aborted: bool  # graphql-core gave up: its complexity budget or its error limit


class ValidationTimeout(Exception):
    """The child did not answer within the deadline, or died; it has been killed."""


class WorkerUnavailable(Exception):
    """No child could be started here."""


def findings(schema: GraphQLSchema, text: str, hide_suggestions: bool) -> list[Finding]:
    document = parse(text)  # the parent parsed it already, within the token limit
    errors = validate(schema, document, VALIDATION_RULES, hide_suggestions=hide_suggestions)
    return [
        Finding(e.message, tuple(e.positions or ()), isinstance(e, ValidationAbortedError))
        for e in errors
    ]


def _read_line(stream: IO[str], timeout: float) -> str | None:
    ready, _, _ = select.select([stream], [], [], max(0.0, timeout))
    return stream.readline() if ready else None


class _Worker:
    def __init__(self, hide_suggestions: bool) -> None:
        command = [sys.executable, "-m", __name__]
        if hide_suggestions:
            command.append("--hide-suggestions")
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
            )
        except OSError as exc:
            raise WorkerUnavailable(str(exc)) from exc
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        if _read_line(self.stdout, START_TIMEOUT) != READY + "\n":
            self.kill()
            raise WorkerUnavailable("the validation process did not start")

    def validate(self, text: str, timeout: float) -> list[Finding]:
        try:
            self.stdin.write(json.dumps(text) + "\n")
            self.stdin.flush()
            line = _read_line(self.stdout, timeout)
            if line:
                return [Finding(m, tuple(p), a) for m, p, a in json.loads(line)]
        except (OSError, ValueError):
            log.warning("a validation process failed; starting another")
        self.kill()
        raise ValidationTimeout

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.stdin.close()
        self.stdout.close()


class ValidationPool:
    """Up to WORKERS children; ``validate`` blocks (call it from a worker thread) until
    one is free. A child that overruns is killed and replaced on next use."""

    def __init__(self, hide_suggestions: bool, size: int = WORKERS) -> None:
        self.hide_suggestions = hide_suggestions
        self._slots: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._slots.put(None)  # started on first use

    def start(self) -> None:
        """Start every child now, so the first documents do not wait for them."""
        workers = [self._slots.get() for _ in range(self._slots.qsize())]
        try:
            for index, worker in enumerate(workers):
                workers[index] = worker or _Worker(self.hide_suggestions)
        except WorkerUnavailable as exc:
            log.warning("validation runs in the server process: %s", exc)
        finally:
            for worker in workers:
                self._slots.put(worker)

    def validate(self, text: str, timeout: float) -> list[Finding]:
        worker = self._slots.get()
        try:
            if worker is None:
                worker = _Worker(self.hide_suggestions)
            started = time.monotonic()
            try:
                return worker.validate(text, timeout)
            except ValidationTimeout:
                worker = None
                elapsed = time.monotonic() - started
                log.warning("validation stopped after %.3g s (limit %.3g s)", elapsed, timeout)
                raise
        finally:
            self._slots.put(worker)


_pools: dict[bool, ValidationPool] = {}
_pools_lock = threading.Lock()


def shared_pool(hide_suggestions: bool) -> ValidationPool:
    with _pools_lock:
        pool = _pools.get(hide_suggestions)
        if pool is None:
            pool = _pools[hide_suggestions] = ValidationPool(hide_suggestions)
        return pool


def _serve(hide_suggestions: bool) -> None:
    """The child: a JSON string (the document) per line in, its findings per line out.
    It ends when the server closes its standard input."""
    from gql_server.graphql.schema import build_schema

    schema = build_schema()._schema
    print(READY, flush=True)
    for line in sys.stdin:
        found: list[Any] = [
            [f.message, list(f.positions), f.aborted]
            for f in findings(schema, json.loads(line), hide_suggestions)
        ]
        print(json.dumps(found), flush=True)


if __name__ == "__main__":
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the server's to handle
    # Behind the server in the CPU queue: a hostile document must not slow the event
    # loop's process down by competing with it for the cores.
    os.nice(10)
    _serve("--hide-suggestions" in sys.argv)
