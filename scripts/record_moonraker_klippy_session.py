"""Record what a real Moonraker sends an agent while Klipper prints, restarts and shuts down,
into tests/fixtures/moonraker/websocket_klippy_session.json.

Klipper itself is played by a small stand-in listening on Moonraker's Klippy socket (the
``klippy_uds_address`` of its ``[server]`` section): it answers Moonraker's start-up
requests and pushes the status changes Klipper would. Run it before Moonraker, which
connects on its own::

    python scripts/record_moonraker_klippy_session.py http://127.0.0.1:7125 API_KEY \
        /path/to/comms/klippy.sock

The transcript lists what the agent received, in order, with Moonraker's volatile values
(connection id, event times, wall-clock times) replaced by their type.
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "moonraker"
SUBSCRIPTION = {"print_stats": None, "extruder": ["temperature", "target"], "webhooks": None}
QUIET_S = 1.5
VOLATILE = ("eventtime", "start_time", "end_time", "connection_id")


def _objects() -> dict[str, dict[str, Any]]:
    return {
        "webhooks": {"state": "ready", "state_message": "Printer is ready"},
        "print_stats": {
            "filename": "", "total_duration": 0.0, "print_duration": 0.0,
            "filament_used": 0.0, "state": "standby", "message": "",
            "info": {"total_layer": None, "current_layer": None},
        },
        "extruder": {"temperature": 21.5, "target": 0.0, "power": 0.0},
        "virtual_sdcard": {"file_path": None, "progress": 0.0, "is_active": False},
        "display_status": {"progress": 0.0, "message": None},
        "pause_resume": {"is_paused": False},
        "configfile": {"config": {"virtual_sdcard": {"path": "/tmp/gcodes"}}},
    }  # fmt: skip


class FakeKlippy:
    """Klipper's API server as Moonraker uses it: JSON objects ending in 0x03."""

    def __init__(self) -> None:
        self.objects = _objects()
        self.subscribed: dict[str, Any] = {}
        self.template: dict[str, Any] = {}
        self.writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.connected.set()
        try:
            while True:
                request = json.loads((await reader.readuntil(b"\x03"))[:-1])
                self._send({"id": request["id"], "result": self._answer(request)})
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    def _answer(self, request: dict[str, Any]) -> Any:
        method, params = request["method"], request.get("params", {})
        if method == "info":
            return {
                "state": "ready", "state_message": "Printer is ready", "hostname": "fake",
                "software_version": "v0.12.0-fake", "cpu_info": "fake", "klipper_path": "/tmp",
                "python_path": sys.executable, "log_file": "/tmp/klippy.log",
                "config_file": "/tmp/printer.cfg", "process_id": os.getpid(),
                "user_id": os.getuid(), "group_id": os.getgid(),
            }  # fmt: skip
        if method == "list_endpoints":
            return {"endpoints": ["info", "objects/list", "objects/query", "objects/subscribe",
                                  "gcode/script", "list_endpoints"]}  # fmt: skip
        if method == "objects/list":
            return {"objects": list(self.objects)}
        if method in ("objects/query", "objects/subscribe"):
            wanted = params.get("objects", {})
            if method == "objects/subscribe":
                self.subscribed, self.template = wanted, params.get("response_template", {})
            return {"eventtime": time.monotonic(), "status": self._pick(self.objects, wanted)}
        return {}

    def push(self, diff: dict[str, dict[str, Any]]) -> None:
        for name, values in diff.items():
            self.objects[name].update(values)
        status = self._pick(diff, self.subscribed)
        if status:
            params = {"eventtime": time.monotonic(), "status": status}
            self._send({**self.template, "params": params})

    def drop(self) -> None:
        """Klipper restarting: its socket closes."""
        assert self.writer is not None
        self.connected.clear()
        self.writer.close()

    def _send(self, message: dict[str, Any]) -> None:
        assert self.writer is not None
        self.writer.write(json.dumps(message).encode() + b"\x03")

    @staticmethod
    def _pick(source: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
        picked = {}
        for name, fields in wanted.items():
            if name in source:
                values = source[name]
                picked[name] = dict(values) if fields is None else {
                    k: v for k, v in values.items() if k in fields
                }  # fmt: skip
        return picked


def _normalised(message: Any) -> Any:
    if isinstance(message, dict):
        return {
            key: type(value).__name__
            if key in VOLATILE and value is not None
            else _normalised(value)
            for key, value in message.items()
        }
    if isinstance(message, list):
        # notify_status_update's params are [status, eventtime]
        return [
            "float" if isinstance(item, float) and index == 1 else _normalised(item)
            for index, item in enumerate(message)
        ]
    return message


async def _heard(ws: ClientConnection) -> list[Any]:
    got: list[Any] = []
    try:
        async with asyncio.timeout(QUIET_S):
            while True:
                message = json.loads(await ws.recv())
                if message.get("method") != "notify_proc_stat_update":
                    got.append(_normalised(message))
    except TimeoutError:
        return got


async def _call(ws: ClientConnection, method: str, params: Any, req_id: int) -> Any:
    await ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": req_id}))
    while True:
        message = json.loads(await ws.recv())
        if message.get("id") == req_id:
            return _normalised(message)


async def main(base: str, key: str, socket_path: str) -> None:
    klippy = FakeKlippy()
    Path(socket_path).unlink(missing_ok=True)
    server = await asyncio.start_unix_server(klippy.serve, socket_path)
    print("waiting for Moonraker to connect to", socket_path)
    await asyncio.wait_for(klippy.connected.wait(), 120)
    await asyncio.sleep(3)  # its start-up requests
    url = base.replace("http", "ws", 1).rstrip("/") + "/websocket"
    session: list[Any] = []
    async with connect(url, additional_headers={"X-Api-Key": key}) as ws:
        identify = {"client_name": "rec", "version": "1", "type": "agent", "url": "x"}
        session.append(
            {
                "step": "identify",
                "recv": [await _call(ws, "server.connection.identify", identify, 1)],
            }
        )
        session.append(
            {
                "step": "subscribe",
                "recv": [
                    await _call(ws, "printer.objects.subscribe", {"objects": SUBSCRIPTION}, 2)
                ],
            }
        )
        steps = [
            ("extruder heats", {"extruder": {"temperature": 150.0, "target": 210.0, "power": 1.0}}),
            ("print starts", {"print_stats": {"state": "printing", "filename": "cube.gcode"}}),
            (
                "print progresses",
                {
                    "print_stats": {
                        "print_duration": 12.5,
                        "total_duration": 14.0,
                        "filament_used": 33.0,
                    }
                },
            ),
            (
                "print completes",
                {
                    "print_stats": {
                        "state": "complete",
                        "print_duration": 20.0,
                        "total_duration": 22.0,
                    }
                },
            ),
        ]
        for name, diff in steps:
            klippy.push(diff)
            session.append({"step": name, "recv": await _heard(ws)})
        klippy.push(
            {
                "print_stats": {
                    "state": "printing",
                    "filename": "cube2.gcode",
                    "print_duration": 0.0,
                    "total_duration": 0.0,
                }
            }
        )
        session.append({"step": "second print starts", "recv": await _heard(ws)})
        klippy.drop()
        session.append({"step": "klippy restarts", "recv": await _heard(ws)})
        await asyncio.wait_for(klippy.connected.wait(), 30)
        session.append({"step": "klippy is back", "recv": await _heard(ws)})
        klippy.push({"extruder": {"temperature": 99.0}})
        session.append(
            {"step": "status after the restart, not resubscribed", "recv": await _heard(ws)}
        )
        session.append(
            {
                "step": "subscribe again",
                "recv": [
                    await _call(ws, "printer.objects.subscribe", {"objects": SUBSCRIPTION}, 3)
                ],
            }
        )
        klippy.push({"webhooks": {"state": "shutdown", "state_message": "Emergency stop"}})
        session.append({"step": "klippy shuts down", "recv": await _heard(ws)})
    server.close()
    path = OUT / "websocket_klippy_session.json"
    path.write_text(json.dumps(session, indent=2) + "\n")
    print(path)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
