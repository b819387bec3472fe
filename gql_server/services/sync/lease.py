"""Who may sync a printer right now: a short lease on the printer row, kept by a heartbeat.

One conditional UPDATE takes the lease, atomically, on SQLite and on MariaDB, from any
number of server processes. The holder renews it every third of its length while the
sync runs, so a holder that dies (kill -9, a lost machine) blocks the printer for at
most one lease (GQL_SYNC_LEASE): short, because until it lapses every later sync of the
printer is refused with SYNC_ALREADY_RUNNING.

The same mechanism holds a printer's live websocket (``LIVE``: one socket per printer
across ``serve --workers N``); each kind has its own pair of columns, so a live holder
and a sync never exclude each other.

Taking a lease over marks the previous holder's run ``abandoned``: only the lease holder
has a ``running`` run, so any other one left on the printer belongs to a dead holder.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from gql_server.db.models import Printer, SyncRun

LEASE = timedelta(seconds=30)
ABANDONED_CODE = "ABANDONED"
ABANDONED_MESSAGE = (
    "the sync stopped without finishing (its process died or lost the database); "
    "a later sync took its lapsed lease over"
)


@dataclass(frozen=True, slots=True)
class LeaseColumns:
    """The printer columns of one kind of lease."""

    until: InstrumentedAttribute[datetime | None]
    owner: InstrumentedAttribute[str | None]


SYNC = LeaseColumns(Printer.sync_lease_until, Printer.sync_lease_owner)
LIVE = LeaseColumns(Printer.live_lease_until, Printer.live_lease_owner)


def new_owner() -> str:
    return str(uuid.uuid4())


def take_lease(
    session: Session,
    printer_id: int,
    owner: str,
    now: datetime,
    lease: timedelta = LEASE,
    *,
    kind: LeaseColumns = SYNC,
) -> bool:
    result = session.execute(
        update(Printer)
        .where(Printer.id == printer_id, or_(kind.until.is_(None), kind.until < now))
        .values({kind.until: now + lease, kind.owner: owner})
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def abandon_runs(session: Session, printer_id: int, now: datetime) -> int:
    """Close the runs a dead holder left ``running``; call it with the lease just taken."""
    result = session.execute(
        update(SyncRun)
        .where(SyncRun.printer_id == printer_id, SyncRun.status == "running")
        .values(
            status="abandoned",
            finished_at=now,
            error_code=ABANDONED_CODE,
            error_message=ABANDONED_MESSAGE,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


def renew_lease(session: Session, printer_id: int, owner: str, until: datetime) -> bool:
    """Extend ``owner``'s sync lease to ``until``. False when it is no longer ours: it
    lapsed and another holder took it."""
    result = session.execute(
        update(Printer)
        .where(Printer.id == printer_id, SYNC.owner == owner)
        .values({SYNC.until: until})
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def hold_leases(
    session: Session,
    printer_ids: Collection[int],
    owner: str,
    now: datetime,
    lease: timedelta = LEASE,
    *,
    kind: LeaseColumns = SYNC,
) -> set[int]:
    """Renew ``owner``'s leases among these printers and take the free or lapsed ones;
    the printers held afterwards. Two statements for any number of printers: each worker
    of a farm of hundreds does this every few seconds."""
    if not printer_ids:
        return set()
    ids = sorted(printer_ids)
    session.execute(
        update(Printer)
        .where(
            Printer.id.in_(ids),
            or_(kind.owner == owner, kind.until.is_(None), kind.until < now),
        )
        .values({kind.until: now + lease, kind.owner: owner})
        .execution_options(synchronize_session=False)
    )
    return set(session.scalars(select(Printer.id).where(Printer.id.in_(ids), kind.owner == owner)))


def release_lease(
    session: Session, printer_id: int, owner: str, *, kind: LeaseColumns = SYNC
) -> None:
    session.execute(
        update(Printer)
        .where(Printer.id == printer_id, kind.owner == owner)
        .values({kind.until: None, kind.owner: None})
        .execution_options(synchronize_session=False)
    )
