"""Moonraker's ``/websocket`` for the fake: JSON-RPC 2.0, agents, object subscriptions,
history and Klippy notifications, served by the fake's own uvicorn.

Copied from Moonraker 0.11.0 (components/websockets.py, common.py ``JsonRPC`` and
``BaseRemoteConnection``, components/klippy_connection.py, components/history.py) and
checked against what a real Moonraker sent, recorded in fixtures/moonraker/websocket_*.json
(with and without a stand-in Klipper; tests/test_fake_moonraker_ws.py):

- The upgrade is never refused for auth. A missing or wrong ``X-Api-Key`` leaves the socket
  open with ``need_auth``: it receives no notification, and every method but
  ``server.connection.identify`` answers ``{"code": -32602, "message": "Unauthorized"}``
  (Moonraker maps its 401 to -32602). ``identify`` with a wrong ``api_key`` answers
  -32602 "Invalid API Key"; without one on such a socket, -32602 "Unauthorized".
- ``printer.objects.subscribe`` answers ``{eventtime, status}`` for the objects asked for
  and replaces the connection's subscription; ``notify_status_update`` then carries only
  the changed fields of subscribed objects, as ``params: [diff, eventtime]``.
- Klippy disconnecting (a restart) drops every subscription while sockets stay open;
  ``notify_klippy_disconnected`` goes out first, then history finishes a running job
  with ``klippy_disconnect``. Shutdown does the same with ``klippy_shutdown`` and keeps
  the subscriptions (Klippy is still connected).
- ``notify_history_changed``: ``[{"action": "added"|"finished", "job": {...}}]``, the job as
  ``PrinterJob.get_stats()`` orders its keys, with ``exists`` and ``job_id`` appended.

Tests drive it from their own thread; everything sent goes through one queue per
connection in the server's loop, so replies and notifications keep Moonraker's order.

No pytest import here: bench/ scripts use this module too.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from tests.support.fake_moonraker import FakeMoonraker, Job

# PrinterJob.__init__'s attribute order: what get_stats() (a __dict__ copy) returns.
EVENT_JOB_KEYS = (
    "end_time",
    "filament_used",
    "filename",
    "metadata",
    "print_duration",
    "status",
    "start_time",
    "total_duration",
    "auxiliary_data",
    "user",
)
CLIENT_TYPES = ("web", "mobile", "desktop", "display", "bot", "agent", "other")
# Methods Moonraker itself answers (the rest come from Klippy's endpoint list).
NO_AUTH_METHODS = ("server.connection.identify",)
KLIPPY_METHODS = ("printer.objects.subscribe", "printer.objects.query")
# print_stats states for a job's final history status (Klipper's names).
PRINT_STATE = {
    "completed": "complete",
    "cancelled": "cancelled",
    "error": "error",
    "klippy_shutdown": "error",
    "klippy_disconnect": "error",
}


def default_objects() -> dict[str, dict[str, Any]]:
    """A ready, idle printer's Klipper objects (the fields an agent reads)."""
    return {
        "webhooks": {"state": "ready", "state_message": "Printer is ready"},
        "print_stats": {
            "filename": "",
            "total_duration": 0.0,
            "print_duration": 0.0,
            "filament_used": 0.0,
            "state": "standby",
            "message": "",
            "info": {"total_layer": None, "current_layer": None},
        },
        "display_status": {"progress": 0.0, "message": None},
        "virtual_sdcard": {
            "file_path": None,
            "progress": 0.0,
            "is_active": False,
            "file_position": 0,
            "file_size": 0,
        },
        "extruder": {"temperature": 21.5, "target": 0.0, "power": 0.0, "pressure_advance": 0.04},
        "heater_bed": {"temperature": 21.0, "target": 0.0, "power": 0.0},
        "idle_timeout": {"state": "Idle", "printing_time": 0.0},
    }


class RpcError(Exception):
    """A ServerError as ``JsonRPC.execute_method`` answers it (401 → -32602, 404 → -32601)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = {401: -32602, 404: -32601}.get(status, status)


@dataclass(eq=False)
class Connection:
    """One client socket: Moonraker's ``WebSocket`` (a ``BaseRemoteConnection``)."""

    uid: int
    headers: dict[str, str]
    need_auth: bool
    outbox: asyncio.Queue[str | None]
    loop: asyncio.AbstractEventLoop
    client_data: dict[str, str] = field(
        default_factory=lambda: {"name": "unknown", "version": "", "type": "", "url": ""}
    )
    identified: bool = False
    subscription: dict[str, list[str] | None] = field(default_factory=dict)

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message from any thread; the connection's writer sends in order."""
        text = json.dumps(message)
        if self._in_loop():
            self.outbox.put_nowait(text)
        else:
            self.loop.call_soon_threadsafe(self.outbox.put_nowait, text)

    def drop(self) -> None:
        self.loop.call_soon_threadsafe(self.outbox.put_nowait, None)

    def _in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False


class FakeWebsocket:
    """The websocket side of one FakeMoonraker: its Klippy state and its connections."""

    def __init__(self, fake: FakeMoonraker) -> None:
        self.fake = fake
        self._lock = threading.RLock()
        self.connections: list[Connection] = []
        self.received: list[dict[str, Any]] = []  # every JSON-RPC request, as sent
        self.opened = 0  # upgrades accepted since the last reset
        self.refusing = False
        self.klippy_state = "ready"
        self.klippy_ever_connected = True
        self.objects = default_objects()
        self._next_uid = 140_000_000_000_000

    def reset(self) -> None:
        self.drop_connections()
        with self._lock:
            self.received, self.opened, self.refusing = [], 0, False
            self.klippy_state, self.klippy_ever_connected = "ready", True
            self.objects = default_objects()

    # -- what tests do

    def push_status(self, diff: dict[str, dict[str, Any]]) -> None:
        """Klipper reporting changed fields: merged into the objects, and sent to every
        subscriber as far as its subscription reaches (nothing when nothing is left)."""
        with self._lock:
            for name, values in diff.items():
                self.objects.setdefault(name, {}).update(copy.deepcopy(values))
            eventtime = time.monotonic()
            for conn in list(self.connections):
                status = _pruned(diff, conn.subscription, only_subscribed=True)
                if status:
                    conn.send(_notification("notify_status_update", [status, eventtime]))

    def klippy_disconnect(self) -> None:
        """Klippy's socket closing (a RESTART or FIRMWARE_RESTART, or a crash)."""
        with self._lock:
            self.klippy_state = "disconnected"
            for conn in self.connections:
                conn.subscription = {}
            self._notify("notify_klippy_disconnected")
            self._finish_running_job("klippy_disconnect")

    def klippy_ready(self) -> None:
        """Klippy connected and ready again; clients must subscribe anew."""
        with self._lock:
            self.klippy_state, self.klippy_ever_connected = "ready", True
            self.objects["webhooks"] = {"state": "ready", "state_message": "Printer is ready"}
            self._notify("notify_klippy_ready")

    def klippy_restart(self) -> None:
        self.klippy_disconnect()
        self.klippy_ready()

    def klippy_shutdown(self, message: str = "MCU 'mcu' shutdown: Timer too close") -> None:
        """An emergency stop: webhooks says so first, then the notification, then history
        finishes a running job with ``klippy_shutdown``."""
        self.push_status({"webhooks": {"state": "shutdown", "state_message": message}})
        with self._lock:
            self.klippy_state = "shutdown"
            self._notify("notify_klippy_shutdown")
            self._finish_running_job("klippy_shutdown")

    def start_print(self, filename: str, **job: Any) -> Job:
        """A print starting: print_stats says so, then history adds the job."""
        self.push_status(
            {
                "print_stats": {"state": "printing", "filename": filename},
                "virtual_sdcard": {"is_active": True, "progress": 0.0},
            }
        )
        return self.fake.add_job(filename=filename, status="in_progress", **job)

    def end_print(self, job_id: str, status: str = "completed", **values: Any) -> Job:
        """A print ending with ``status``: print_stats first, then history finishes it."""
        self.push_status({"print_stats": {"state": PRINT_STATE.get(status, "error")}})
        return self.fake.finish_job(job_id, status, **values)

    def history_changed(self, action: str, job: Job) -> None:
        """History.send_history_event, called by the fake's add_job and finish_job."""
        if not self.connections:
            return  # the benches insert thousands of jobs with nobody listening
        shown = {key: copy.deepcopy(job[key]) for key in EVENT_JOB_KEYS}
        public = self.fake.public_job(job, job["job_id"])
        shown.update(exists=public["exists"], job_id=job["job_id"])
        with self._lock:
            self._notify("notify_history_changed", [{"action": action, "job": shown}])

    def notify_noise(self) -> None:
        """What every client gets about once a second and an agent ignores."""
        stats = {"cpu_temp": 48.2, "moonraker_stats": {"time": time.time(), "cpu_usage": 2.1}}
        with self._lock:
            self._notify("notify_proc_stat_update", [stats])

    def drop_connections(self) -> None:
        """Close every socket (1001), as Moonraker does when it stops."""
        with self._lock:
            dropped, self.connections = self.connections, []
        for conn in dropped:
            conn.drop()

    def identified(self) -> list[dict[str, str]]:
        with self._lock:
            return [dict(conn.client_data) for conn in self.connections if conn.identified]

    def subscriptions(self) -> list[dict[str, list[str] | None]]:
        with self._lock:
            return [dict(conn.subscription) for conn in self.connections if conn.subscription]

    def calls(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [request for request in self.received if request.get("method") == method]

    # -- the server side

    def open(self, headers: dict[str, str], loop: asyncio.AbstractEventLoop) -> Connection:
        """WebSocket.prepare and open: auth decides ``need_auth``, never a refusal."""
        with self._lock:
            self._next_uid += 16
            self.opened += 1
            conn = Connection(
                uid=self._next_uid,
                headers=headers,
                need_auth=not self._authenticated(headers.get("x-api-key")),
                outbox=asyncio.Queue(),
                loop=loop,
            )
            self.connections.append(conn)
            return conn

    def close(self, conn: Connection) -> None:
        with self._lock:
            if conn in self.connections:
                self.connections.remove(conn)

    def dispatch(self, conn: Connection, text: str) -> dict[str, Any] | None:
        """JsonRPC.dispatch for one message: the reply, or None for a notification."""
        try:
            request = json.loads(text)
        except ValueError:
            return _error(-32700, "Parse error", None)
        with self._lock:
            self.received.append(request)
        if not isinstance(request, dict):
            return _error(-32600, "Invalid Request", None)
        req_id = request.get("id")
        if request.get("jsonrpc") != "2.0":
            return _error(-32600, "Invalid Request", req_id)
        method = request.get("method")
        if method is None:
            return None  # a response to a call of ours: none are made
        params = request.get("params", {})
        if not isinstance(params, dict):
            return _error(-32602, "Invalid params:", req_id)
        try:
            result = self._execute(conn, str(method), params)
        except RpcError as exc:
            return _error(exc.code, str(exc), req_id)
        return None if req_id is None else {"jsonrpc": "2.0", "result": result, "id": req_id}

    def _execute(self, conn: Connection, method: str, params: dict[str, Any]) -> Any:
        handler = METHODS.get(method)
        if handler is None or (method in KLIPPY_METHODS and not self.klippy_ever_connected):
            raise RpcError("Method not found", 404)
        if method not in NO_AUTH_METHODS and conn.need_auth and self._has_auth():
            raise RpcError("Unauthorized", 401)
        with self._lock:
            return handler(self, conn, params)

    def _has_auth(self) -> bool:
        return self.fake.api_key is not None or self.fake.trusted

    def _authenticated(self, key: str | None) -> bool:
        """Authorization.authenticate_request: a key header is checked even from a trusted
        address; without one, a trusted address passes."""
        if not self._has_auth():
            return True
        if key:
            return key == self.fake.api_key
        return self.fake.trusted

    def _notify(self, method: str, params: list[Any] | None = None) -> None:
        """WebsocketManager.notify_clients: every connection but those needing auth."""
        message = _notification(method, params)
        for conn in self.connections:
            if not conn.need_auth:
                conn.send(message)

    def _finish_running_job(self, status: str) -> None:
        """History.finish_job with Klipper's last print_stats: taken only when they are
        still this job's (same file, no shorter), else the job keeps its own values."""
        running = [job for job in self.fake.jobs if job["status"] == "in_progress"]
        if not running:
            return
        job = running[-1]
        stats = self.objects.get("print_stats", {})
        same = stats.get("filename") == job["filename"]
        values: dict[str, Any] = {"auxiliary_data": job["auxiliary_data"]}
        if same and stats.get("total_duration", 0.0) >= job["total_duration"]:
            source = stats
        else:
            source = job
        for name in ("print_duration", "total_duration", "filament_used"):
            values[name] = source.get(name, job[name])
        self.fake.finish_job(job["job_id"], status, **values)


# ---------------------------------------------------------------------------- methods


def _identify(ws: FakeWebsocket, conn: Connection, params: dict[str, Any]) -> Any:
    """WebsocketManager._handle_identify."""
    if conn.identified:
        raise RpcError(f"Connection already identified: {conn.client_data}")
    values = {name: _required_str(params, name) for name in ("client_name", "version", "type")}
    url = _required_str(params, "url")
    _authenticate(ws, conn, params.get("access_token"), params.get("api_key"))
    client_type = values["type"].lower()
    if client_type not in CLIENT_TYPES:
        raise RpcError(f"Invalid Client Type: {client_type}")
    if client_type == "agent" and any(
        other.client_data["name"] == values["client_name"] and other.client_data["type"] == "agent"
        for other in ws.connections
        if other is not conn
    ):
        conn.client_data["type"] = ""
        raise RpcError(f'Agent "{values["client_name"]}" already registered')
    conn.client_data = {
        "name": values["client_name"],
        "version": values["version"],
        "type": client_type,
        "url": url,
    }
    conn.identified = True
    return {"connection_id": conn.uid}


def _authenticate(ws: FakeWebsocket, conn: Connection, token: Any, api_key: Any) -> None:
    """BaseRemoteConnection.authenticate: a JWT or an API key, else Unauthorized when the
    socket still needs auth; any failure leaves it needing auth."""
    if not ws._has_auth():
        return
    try:
        if token is not None:
            raise RpcError("Failed to decode JWT: Invalid JWT format", 401)
        if api_key is not None:
            if str(api_key) != ws.fake.api_key:
                raise RpcError("Invalid API Key", 401)
            conn.need_auth = False
        elif conn.need_auth:
            raise RpcError("Unauthorized", 401)
    except RpcError:
        conn.need_auth = True
        raise


def _server_info(ws: FakeWebsocket, conn: Connection, params: dict[str, Any]) -> Any:
    info = copy.deepcopy(ws.fake.server_info)
    info.update(
        klippy_connected=ws.klippy_state != "disconnected",
        klippy_state=ws.klippy_state,
        websocket_count=len(ws.connections),
    )
    return info


def _connection_id(ws: FakeWebsocket, conn: Connection, params: dict[str, Any]) -> Any:
    return {"websocket_id": conn.uid}


def _subscribe(ws: FakeWebsocket, conn: Connection, params: dict[str, Any]) -> Any:
    """KlippyConnection._request_subscripton: replaces the connection's subscription."""
    result = _query(ws, conn, params)
    conn.subscription = {}
    requested = params.get("objects") or {}
    if requested:
        conn.subscription = dict(requested)
    return result


def _query(ws: FakeWebsocket, conn: Connection, params: dict[str, Any]) -> Any:
    if ws.klippy_state == "disconnected":
        raise RpcError("Klippy Host not connected", 503)
    requested = params.get("objects")
    if not isinstance(requested, dict):
        raise RpcError("Invalid argument")
    status = _pruned(ws.objects, requested, only_subscribed=True)
    for name in requested:
        if name in ws.objects:
            status.setdefault(name, {})
    return {"eventtime": time.monotonic(), "status": copy.deepcopy(status)}


METHODS = {
    "server.connection.identify": _identify,
    "server.info": _server_info,
    "server.websocket.id": _connection_id,
    "printer.objects.subscribe": _subscribe,
    "printer.objects.query": _query,
}


# ---------------------------------------------------------------------------- helpers


def _required_str(params: dict[str, Any], name: str) -> str:
    if name not in params:
        raise RpcError(f"No data for argument: {name}")
    return str(params[name])


def _pruned(
    status: dict[str, dict[str, Any]],
    subscription: dict[str, list[str] | None],
    *,
    only_subscribed: bool,
) -> dict[str, dict[str, Any]]:
    pruned: dict[str, dict[str, Any]] = {}
    for name, values in status.items():
        if name not in subscription:
            continue
        fields = subscription[name]
        kept = dict(values) if fields is None else {k: v for k, v in values.items() if k in fields}
        if kept:
            pruned[name] = copy.deepcopy(kept)
    return pruned


def _notification(method: str, params: list[Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params:
        message["params"] = params
    return message


def _error(code: int, message: str, req_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": req_id}


async def websocket_endpoint(fake: FakeMoonraker, websocket: WebSocket) -> None:
    """The upgrade is accepted whatever the auth (Moonraker decides ``need_auth`` only);
    ``refusing`` stands for a Moonraker that is down (503 to the upgrade)."""
    hub = fake.websocket
    if hub.refusing:
        await websocket.close(code=1013)
        return
    await websocket.accept()
    headers = {name.lower(): value for name, value in websocket.headers.items()}
    conn = hub.open(headers, asyncio.get_running_loop())
    writer = asyncio.ensure_future(_write(websocket, conn))
    try:
        while not writer.done():
            receiving = asyncio.ensure_future(websocket.receive_text())
            done, _ = await asyncio.wait({receiving, writer}, return_when=asyncio.FIRST_COMPLETED)
            if receiving not in done:
                receiving.cancel()
                break
            reply = hub.dispatch(conn, receiving.result())
            if reply is not None:
                conn.outbox.put_nowait(json.dumps(reply))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.close(conn)
        writer.cancel()


async def _write(websocket: WebSocket, conn: Connection) -> None:
    """Send the outbox in order; None closes the socket as a Moonraker shutting down does
    (WebsocketManager.close: 1001 "Server Shutdown")."""
    while True:
        text = await conn.outbox.get()
        if text is None:
            await websocket.close(code=1001, reason="Server Shutdown")
            return
        await websocket.send_text(text)
