"""The rows one sync writes around its import: the claim (lease and ``running`` run) at
the start, the run's outcome and the printer's sync state at the end."""

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, inspect, update
from sqlalchemy.orm import Session

from gql_server.db.models import Printer, SyncRun
from gql_server.services.sync.importer import ImportCounts
from gql_server.services.sync.lease import abandon_runs, new_owner, release_lease, take_lease
from gql_server.services.sync.results import ALREADY_RUNNING, NOT_FOUND, SyncResult
from gql_server.services.totals import recompute_totals

# The import's counts a run records: those sync_runs has a column for, under the same
# name, so that a count added to both needs no line here (pages, newest_start and
# complete steer the sync and are not kept).
RUN_COUNTS = tuple(f.name for f in fields(ImportCounts) if f.name in inspect(SyncRun).column_attrs)


@dataclass(frozen=True, slots=True)
class Claim:
    """A printer this process holds the lease on, with a ``running`` run recorded."""

    printer_id: int
    name: str
    url: str
    api_key: str | None  # as stored: encrypted, opened just before the import
    watermark: datetime | None
    owner: str
    run_id: int
    full: bool


def claim_printer(
    session: Session,
    printer_id: int,
    result: SyncResult,
    *,
    full: bool,
    lease: timedelta,
    clock: Callable[[], datetime],
) -> Claim | None:
    """Take the printer's lease and record a ``running`` run; None (with ``result``
    failed) when the printer is gone or another sync holds it."""
    printer = session.get(Printer, printer_id)
    if printer is None:
        result.fail(NOT_FOUND, f"no printer with id {printer_id}")
        return None
    result.printer_name = printer.name
    owner = new_owner()
    if not take_lease(session, printer.id, owner, result.started_at, lease):
        result.fail(ALREADY_RUNNING, f"printer {printer.name!r} is being synced already")
        return None
    # The run starts once the lease is ours: on MariaDB taking it may have waited for
    # the previous holder's commit, and the runs must not seem to overlap.
    result.started_at = clock()
    abandon_runs(session, printer.id, result.started_at)
    run = SyncRun(printer_id=printer.id, started_at=result.started_at, status="running")
    run.full = full
    session.add(run)
    session.flush()
    return Claim(
        printer_id=printer.id,
        name=printer.name,
        url=printer.moonraker_url,
        api_key=printer.moonraker_api_key,
        watermark=printer.sync_watermark,
        owner=owner,
        run_id=run.id,
        full=full,
    )


def finish_run(session: Session, claim: Claim, result: SyncResult) -> None:
    """Close the run, release the lease and record the outcome on the printer; the
    watermark moves only after a complete success."""
    if not end_run(session, claim, result):
        return  # taken over meanwhile: the new holder owns the printer's sync state
    values: dict[str, Any] = {
        "last_sync_at": result.finished_at,
        "last_sync_status": result.run_status,
        "last_sync_error_code": result.error_code,
        "last_sync_error_message": result.error_message,
    }
    newest = result.counts.newest_start
    if result.ok and result.counts.complete and newest is not None:
        watermark = newest if claim.watermark is None else max(newest, claim.watermark)
        values["sync_watermark"] = watermark
    session.execute(
        update(Printer)
        .where(Printer.id == claim.printer_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.ok:
        # The pages imported before the failure count; a success recomputed already.
        recompute_totals(session, [claim.printer_id])


def end_run(session: Session, claim: Claim, result: SyncResult) -> bool:
    """Close the run and release the lease: the two writes every exit path needs, first
    in the transaction so that the printer row is locked before the run row, as in the
    claim. False when the run is no longer ours (a later sync marked it abandoned)."""
    release_lease(session, claim.printer_id, claim.owner)
    counts = {name: getattr(result.counts, name) for name in RUN_COUNTS}
    closed = session.execute(
        update(SyncRun)
        .where(SyncRun.id == claim.run_id, SyncRun.status == "running")
        .values(
            finished_at=result.finished_at,
            status=result.run_status,
            requests_made=result.requests_made,
            error_code=result.error_code,
            error_message=result.error_message,
            **counts,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], closed).rowcount == 1
