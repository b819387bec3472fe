"""Liveness and readiness probes."""

from anyio import to_thread
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from gql_server.db.migrate import is_at_head
from gql_server.services.live.broker import BrokeredHub


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
    """Ready when the database answers, its schema is at the newest migration, and the
    broker (GQL_BROKER_URL) is connected. Without the broker, queries still work, but a
    subscriber here misses the events of the other workers: a balancer should prefer
    another worker."""
    ok = await to_thread.run_sync(_database_answers, request)
    migrated = ok and await to_thread.run_sync(_at_head, request)
    status = "ok" if migrated else ("database unreachable" if not ok else "migrations pending")
    hub = getattr(request.app.state, "hub", None)
    if migrated and isinstance(hub, BrokeredHub) and not hub.ready:
        body = {"status": "broker unreachable", "reason": hub.reason or hub.state}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": status}, status_code=200 if migrated else 503)


def _at_head(request: Request) -> bool:
    try:
        return is_at_head(request.app.state.database.engine)
    except Exception:  # an unreadable alembic_version table means "not ready"
        return False
