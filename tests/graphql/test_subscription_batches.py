"""A burst of job events (one group commit announcing several printers' jobs) reaches a
``printJobChanged`` subscriber as one message per event, in order, each with its job as
stored; the burst's jobs are read together, in a fixed number of statements."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.graphql.context import Context
from gql_server.graphql.schema import schema
from gql_server.services.auth import AuthenticatedKey, Scope
from gql_server.services.jobs import upsert_jobs
from gql_server.services.live import EventHub, JobChanged
from tests.factories import TEST_SECRET, make_job_row, make_printer
from tests.support.sql_counter import count_statements

JOB_CHANGED = "subscription { printJobChanged { action job { jobId status printer { name } } } }"
# The burst's jobs, then their printers: one statement each, whatever the burst's size.
STATEMENTS_PER_BURST = 2
WAIT_S = 10.0


@dataclass
class _Live:
    hub: EventHub


@dataclass
class _Services:
    live: _Live
    hub: EventHub
    syncer: Any = None


def _context(database: Database, hub: EventHub) -> Context:
    reader = AuthenticatedKey(
        id=1, name="reader", key_prefix="gqlr", scopes=frozenset({Scope.READ})
    )
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET)
    return Context(database, settings, _Services(_Live(hub), hub), api_key=reader)


def _stored_jobs(database: Database) -> list[JobChanged]:
    """Two printers' jobs: one printer's job announced ADDED then FINISHED in one burst."""
    with database.scope() as session:
        events = []
        for name, index, status in [("voron-1", 1, "completed"), ("prusa-2", 2, "cancelled")]:
            printer = make_printer(session, name)
            row = make_job_row(index, status=status)
            key = (row["job_id"], row["start_time"])
            job_id = upsert_jobs(session, printer.id, [row]).ids[key]
            events.append(JobChanged(printer.id, "FINISHED", job_id, *key))
    return [replace(events[0], action="ADDED"), *events]


async def _burst(database: Database, events: list[JobChanged]) -> tuple[list[Any], int]:
    """The messages of one burst published at once, and the statements they cost."""
    hub = EventHub()
    stream = await schema.subscribe(JOB_CHANGED, context_value=_context(database, hub))
    assert isinstance(stream, AsyncIterator)
    first = asyncio.ensure_future(anext(stream))
    while hub.subscriber_count == 0:  # the resolver has started reading the hub
        await asyncio.sleep(0.01)
    with count_statements(database.engine) as log:
        for event in events:
            hub.publish(event)
        messages = [await asyncio.wait_for(first, WAIT_S)]
        for _ in events[1:]:
            messages.append(await asyncio.wait_for(anext(stream), WAIT_S))
    await stream.aclose()  # type: ignore[attr-defined]
    return [(m.data, m.errors) for m in messages], log.count


@pytest.mark.parametrize("burst", [1, 3])
def test_a_burst_of_job_events_is_one_message_each_in_order_read_together(
    database: Database, burst: int
) -> None:
    events = _stored_jobs(database)[:burst]
    messages, statements = asyncio.run(_burst(database, events))
    expected = [
        ("ADDED", "000001", "COMPLETED", "voron-1"),
        ("FINISHED", "000001", "COMPLETED", "voron-1"),
        ("FINISHED", "000002", "CANCELLED", "prusa-2"),
    ][:burst]
    assert [errors for _, errors in messages] == [None] * burst
    assert [
        (c["action"], c["job"]["jobId"], c["job"]["status"], c["job"]["printer"]["name"])
        for c in (data["printJobChanged"] for data, _ in messages)
    ] == expected
    assert statements == STATEMENTS_PER_BURST
