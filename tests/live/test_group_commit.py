"""Group commit: the units of work queued while a transaction runs share the next one,
and a unit that fails fails alone."""

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.db.models import Printer
from gql_server.db.session import Database
from gql_server.services.live.group_commit import GroupCommit
from tests.factories import make_printer

UNITS = 10


def _add_printer(name: str) -> Callable[[Session], int]:
    return lambda session: make_printer(session, name).id


def _fail(session: Session) -> int:
    make_printer(session, "half-written")
    raise ValueError("bad unit")


def _names(database: Database) -> set[str]:
    with database.scope() as session:
        return set(session.scalars(select(Printer.name)))


def test_units_queued_together_are_written_in_fewer_transactions(database: Database) -> None:
    writer = GroupCommit(database)

    async def burst() -> list[int]:
        return await asyncio.gather(*(writer.run(_add_printer(f"p{n}")) for n in range(UNITS)))

    ids = asyncio.run(burst())
    assert _names(database) == {f"p{n}" for n in range(UNITS)}
    assert len(set(ids)) == UNITS
    assert writer.transactions == 1


def test_a_failing_unit_fails_alone_and_leaves_nothing_written(database: Database) -> None:
    writer = GroupCommit(database)

    async def burst() -> list[int | BaseException]:
        units = [_add_printer("before"), _fail, _add_printer("after")]
        return await asyncio.gather(*(writer.run(u) for u in units), return_exceptions=True)

    before, failed, after = asyncio.run(burst())
    assert isinstance(failed, ValueError)
    assert isinstance(before, int) and isinstance(after, int)
    assert _names(database) == {"before", "after"}
    assert writer.transactions == 4  # the group, then each of its three alone


@pytest.mark.parametrize("group", [1, 3])
def test_a_long_queue_is_split_into_groups_of_at_most_max_group(
    database: Database, group: int
) -> None:
    writer = GroupCommit(database, max_group=group)

    async def burst() -> None:
        await asyncio.gather(*(writer.run(_add_printer(f"p{n}")) for n in range(UNITS)))

    asyncio.run(burst())
    assert writer.transactions == -(-UNITS // group)
    assert len(_names(database)) == UNITS
