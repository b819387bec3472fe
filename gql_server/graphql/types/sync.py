"""Results of syncPrinters, and a printer's last sync status."""

import strawberry

from gql_server.graphql.ids import to_global_id
from gql_server.graphql.types.printer import Printer, printer_from_row
from gql_server.services.sync import SyncResult


@strawberry.type(description="Why a printer's sync failed; codes are stable.")
class SyncError:
    code: str = strawberry.field(
        description="UNREACHABLE, TIMEOUT, AUTH_FAILED, HTTP_ERROR, BAD_RESPONSE, TOO_LARGE, "
        "ADDRESS_REFUSED (the printer's address is refused by the server's address rule; "
        "nothing was sent), INVALID_URL (the stored URL cannot be used), SECRET_KEY_REQUIRED "
        "(the printer's Moonraker API key is stored encrypted and the server has no secret "
        "to read it), SYNC_ALREADY_RUNNING, NOT_FOUND, STORAGE_ERROR (the database "
        "is full, read-only or unreachable), SHUTTING_DOWN (the server stopped the sync), "
        "CANCELLED, LEASE_LOST or INTERNAL_ERROR."
    )
    message: str


@strawberry.type(description="What one printer's sync did.")
class PrinterSyncResult:
    printer_id: strawberry.ID
    printer: Printer | None
    ok: bool
    jobs_seen: int = strawberry.field(description="Jobs read from Moonraker.")
    jobs_created: int
    jobs_updated: int
    details_extracted: int
    requests_made: int = strawberry.field(description="HTTP requests sent to the printer.")
    duration_seconds: float
    error: SyncError | None


def sync_result(result: SyncResult, printer_row: object | None) -> PrinterSyncResult:
    error = None
    if result.error_code is not None:
        error = SyncError(code=result.error_code, message=result.error_message or "")
    return PrinterSyncResult(
        printer_id=strawberry.ID(to_global_id("Printer", result.printer_id)),
        printer=None if printer_row is None else printer_from_row(printer_row),
        ok=result.ok,
        jobs_seen=result.counts.jobs_seen,
        jobs_created=result.counts.jobs_created,
        jobs_updated=result.counts.jobs_updated,
        details_extracted=result.counts.details_extracted,
        requests_made=result.requests_made,
        duration_seconds=result.duration_seconds,
        error=error,
    )
