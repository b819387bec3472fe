"""Liveness and readiness probes."""

from anyio import to_thread
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from gql_server.db.migrate import is_at_head


def _database_answers(request: Request) -> bool:
    try:
        with request.app.state.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy"; the probe must not raise
        return False
    return True


async def healthz(request: Request) -> JSONResponse:
    """200 when the database answers, 503 otherwise (no auth: for load balancers)."""
    ok = await to_thread.run_sync(_database_answers, request)
    return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    ok = await to_thread.run_sync(_database_answers, request)
    migrated = ok and await to_thread.run_sync(_at_head, request)
    status = "ok" if migrated else ("database unreachable" if not ok else "migrations pending")
    return JSONResponse({"status": status}, status_code=200 if migrated else 503)


def _at_head(request: Request) -> bool:
    try:
        return is_at_head(request.app.state.database.engine)
    except Exception:  # an unreadable alembic_version table means "not ready"
        return False
