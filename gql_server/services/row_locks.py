"""Lock the row a new row will refer to, before writing it.

Looking the parent up was not enough: one deleted between the look-up and the INSERT
failed the new row's foreign key (an internal error), and two writers that both
checked a bound on the parent's children both found room. An UPDATE that changes
nothing holds the row until the commit on MariaDB and takes SQLite's one write lock,
so a delete waits for the commit and whatever is read after it is the latest.
"""

from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from gql_server.db.models import MaintenanceTask, Printer

Parent = type[Printer] | type[MaintenanceTask]


def lock_parent(session: Session, model: Parent, row_id: int) -> bool:
    """Hold ``model``'s row ``row_id`` until the commit; False when there is none."""
    touch = update(model).where(model.id == row_id).values(updated_at=model.updated_at)
    result = session.execute(touch.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount > 0
