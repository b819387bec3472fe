"""syncPrinters: import from Moonraker now, one result per printer."""

import strawberry

from gql_server.graphql.context import Info
from gql_server.graphql.mutations.outcome import attempt, input_id
from gql_server.graphql.permissions import write_mutation
from gql_server.graphql.types.sync import PrinterSyncResult, sync_result
from gql_server.graphql.types.user_error import UserError
from gql_server.services import printer_queries
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


@strawberry.type
class SyncMutations:
    @write_mutation(
        "Import job history from Moonraker. One printer failing never fails "
        "the others: its result carries the error."
    )
    async def sync_printers(self, info: Info, input: SyncPrintersInput) -> SyncPrintersPayload:
        outcome = await attempt(lambda: _sync(info, input))
        return SyncPrintersPayload(results=outcome.value or [], user_errors=outcome.user_errors)


async def _sync(info: Info, data: SyncPrintersInput) -> list[PrinterSyncResult]:
    ids = None if data.printer_ids is None else _printer_ids(data.printer_ids)
    results = await info.context.services.syncer.sync_printers(ids, full=data.full)
    rows = await info.context.read(
        lambda s: printer_queries.fetch_printers_by_ids(s, [r.printer_id for r in results])
    )
    return [sync_result(r, rows.get(r.printer_id)) for r in results]


def _printer_ids(global_ids: list[strawberry.ID]) -> list[int]:
    """Counted before any is decoded: a long list is refused without work."""
    check_items(global_ids, field="printerIds")
    return [input_id(global_id, "Printer", field="printerIds") for global_id in global_ids]
