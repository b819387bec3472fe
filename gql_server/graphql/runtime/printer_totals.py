"""A printer's totals: known already when the printers' page read them, else loaded.

``Printer.jobTotals`` answers synchronously when ``printers`` read the totals with the
page (it looks ahead for the field), and returns a coroutine otherwise, which
graphql-core awaits: a page of printers then costs no coroutine per printer.
"""

from typing import Any

from gql_server.graphql.context import Info
from gql_server.graphql.types.job_totals import JobTotals, job_totals_from_row

# ``Printer.known_totals`` when nothing read them: None means "read, and there are none".
NOT_LOADED: Any = object()


def totals_now_or_later(info: Info, printer_id: int, known: JobTotals | None) -> JobTotals | None:
    if known is not NOT_LOADED:
        return known
    # The annotation must stay the GraphQL type (the resolver returns this value), so the
    # awaitable cannot be declared.
    return _totals_later(info, printer_id)  # type: ignore[return-value]


async def _totals_later(info: Info, printer_id: int) -> JobTotals | None:
    row = await info.context.loaders.totals.load(printer_id)
    return None if row is None else job_totals_from_row(row)
