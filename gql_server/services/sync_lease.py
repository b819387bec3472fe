"""Who may sync a printer right now: a lease on the printer row.

One conditional UPDATE takes the lease, atomically, on SQLite and on MariaDB, from any
number of server processes; a holder that dies lets it lapse after LEASE_SECONDS.
The holder renews it after every page.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from gql_server.db.models import Printer

LEASE = timedelta(minutes=5)


def new_owner() -> str:
    return str(uuid.uuid4())


def take_lease(session: Session, printer_id: int, owner: str, now: datetime) -> bool:
    result = session.execute(
        update(Printer)
        .where(
            Printer.id == printer_id,
            or_(Printer.sync_lease_until.is_(None), Printer.sync_lease_until < now),
        )
        .values(sync_lease_until=now + LEASE, sync_lease_owner=owner)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def renew_lease(session: Session, printer_id: int, owner: str, now: datetime) -> None:
    session.execute(
        update(Printer)
        .where(Printer.id == printer_id, Printer.sync_lease_owner == owner)
        .values(sync_lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )


def release_lease(session: Session, printer_id: int, owner: str) -> None:
    session.execute(
        update(Printer)
        .where(Printer.id == printer_id, Printer.sync_lease_owner == owner)
        .values(sync_lease_until=None, sync_lease_owner=None)
        .execution_options(synchronize_session=False)
    )
