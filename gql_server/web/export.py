"""``GET /export/print-jobs.csv`` and ``.ndjson``: ``printJobs`` as a file, streamed.

Behind the same AuthGate as /graphql (web/auth.py: 401, 429, 503 alike); the key needs
the READ scope (403 FORBIDDEN). The query string holds printJobs' filter and order
(graphql/job_export_parameters.py); a parameter refused is a 400 before any row is
read. The rows are read in keyset batches in worker threads, one batch encoded and
sent at a time, so the server's memory does not grow with the export. A failure after
the first bytes can no longer change the status: the connection is cut before the
body's end, which a client sees as a truncated transfer, never as a shorter file.
"""

import logging
from collections.abc import Callable, Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from gql_server.db.session import Database
from gql_server.graphql.job_export import export_chunks
from gql_server.graphql.job_export_parameters import (
    ExportParameterError,
    parse_export_parameters,
)
from gql_server.services.auth import AuthenticatedKey
from gql_server.services.auth import Scope as KeyScope
from gql_server.services.export_formats import ExportFormat
from gql_server.web.auth import graphql_error, send_refusal

log = logging.getLogger(__name__)

EXPORT_NAME = "print-jobs"


def parameter_refusal(exc: ExportParameterError) -> JSONResponse:
    """Shaped like the gate's refusals: ``errors[0].extensions.code``, and ``field``
    naming the parameter."""
    extensions = {"code": exc.code, "field": exc.parameter}
    return JSONResponse({"errors": [{"message": exc.message, "extensions": extensions}]}, 400)


def _cut_on_failure(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Logs a failure mid-stream, then lets it end the connection."""
    try:
        yield from chunks
    except Exception:
        log.exception("the export failed after its response began; the connection is cut")
        raise


class PrintJobExport:
    """The endpoint of one format; AuthGate has put the caller's key in the scope."""

    def __init__(
        self,
        export_format: ExportFormat,
        *,
        database: Database,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        self.export_format = export_format
        self.database = database
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api_key: AuthenticatedKey = scope["state"]["api_key"]
        if not api_key.allows(KeyScope.READ):
            refusal = graphql_error(403, "this API key lacks the READ scope", "FORBIDDEN")
            await send_refusal(refusal, self.on_refusal, scope, receive, send)
            return
        request = Request(scope, receive)
        values: dict[str, list[str]] = {}
        for name, value in request.query_params.multi_items():
            values.setdefault(name, []).append(value)
        try:
            job_filter, order = parse_export_parameters(values)
        except ExportParameterError as exc:
            if self.on_refusal is not None:
                self.on_refusal(exc.code)
            await parameter_refusal(exc)(scope, receive, send)
            return
        chunks: Iterator[bytes] = iter(())  # HEAD: the headers a GET gets, no rows read
        if request.method != "HEAD":
            chunks = export_chunks(
                self.database.scope_run, self.export_format, job_filter=job_filter, order=order
            )
        file_name = f"{EXPORT_NAME}.{self.export_format.name}"
        response = StreamingResponse(
            _cut_on_failure(chunks),  # a sync iterator: Starlette pulls it in worker threads
            media_type=self.export_format.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{file_name}"',
                "Cache-Control": "no-store",
            },
        )
        await response(scope, receive, send)
