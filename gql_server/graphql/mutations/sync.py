"""syncPrinters: import from Moonraker now, one result per printer."""

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.errors import ApiError
from gql_server.graphql.ids import database_id
from gql_server.graphql.permissions import CanWrite
from gql_server.graphql.types.sync import PrinterSyncResult, sync_result
from gql_server.graphql.types.user_error import UserError, user_error
from gql_server.services import printer_queries
from gql_server.services.errors import ServiceError
from gql_server.services.input_bounds import LIST_MAX, check_items


@strawberry.input
class SyncPrintersInput:
    printer_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"Printers to sync; all active printers when omitted. At most {LIST_MAX}.",
    )
    full: bool = strawberry.field(
        default=False, description="Re-read the whole history instead of what is new."
    )


@strawberry.type
class SyncPrintersPayload:
    results: list[PrinterSyncResult]
    user_errors: list[UserError]


def _printer_ids(global_ids: list[strawberry.ID]) -> list[int]:
    """Counted before any is decoded (ServiceError), then decoded (ApiError)."""
    check_items(global_ids, field="printerIds")
    return [database_id(global_id, "Printer") for global_id in global_ids]


@strawberry.type
class SyncMutations:
    @strawberry.mutation(
        description="Import job history from Moonraker. One printer failing never fails "
        "the others: its result carries the error.",
        permission_classes=[CanWrite],
    )
    async def sync_printers(self, info: Info, input: SyncPrintersInput) -> SyncPrintersPayload:
        ids = None
        if input.printer_ids is not None:
            try:
                ids = _printer_ids(input.printer_ids)
            except ServiceError as exc:
                return SyncPrintersPayload(results=[], user_errors=[user_error(exc)])
            except ApiError as exc:
                error = UserError(
                    field=["input", "printerIds"], message=exc.message, code="NOT_FOUND"
                )
                return SyncPrintersPayload(results=[], user_errors=[error])
        syncer = info.context.services.syncer
        results = await syncer.sync_printers(ids, full=input.full)
        rows = await info.context.read(
            lambda s: printer_queries.fetch_printers_by_ids(s, [r.printer_id for r in results])
        )
        return SyncPrintersPayload(
            results=[sync_result(r, rows.get(r.printer_id)) for r in results], user_errors=[]
        )
