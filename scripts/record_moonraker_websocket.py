"""Record a real Moonraker's websocket replies into tests/fixtures/moonraker/websocket_*.json.

Run by hand against a Moonraker with ``[authorization]`` and no trusted clients (it runs on
loopback without Klipper: ``pip install moonraker==0.11.0`` in a throwaway virtualenv, then
``python -m moonraker -d DATA -c moonraker.conf -n``; the API key is in DATA's
``database/moonraker-sql.db``, table ``authorized_users``)::

    python scripts/record_moonraker_websocket.py http://127.0.0.1:7125 API_KEY

Each file is a transcript, ``[{"send": …} | {"recv": …} | {"silent_for": seconds}]``;
tests/test_fake_moonraker_ws.py plays the sends to the fake and compares the replies.
"""

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "moonraker"
IDENTIFY = {"client_name": "gql_server", "version": "0.1.0", "type": "agent", "url": "x"}
SILENCE_S = 3.0


def call(method: str, params: Any = None, req_id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
    if params is not None:
        message["params"] = params
    return message


CASES: dict[str, tuple[str | None, list[Any]]] = {
    # name: (X-Api-Key header: "valid", "wrong" or None, the messages to send)
    "identify_with_header_key": ("valid", [call("server.connection.identify", IDENTIFY)]),
    "identify_twice": (
        "valid",
        [
            call("server.connection.identify", IDENTIFY),
            call("server.connection.identify", IDENTIFY, 2),
        ],
    ),
    "subscribe_before_klippy": (
        "valid",
        [call("printer.objects.subscribe", {"objects": {"print_stats": None}})],
    ),
    "no_key_is_unauthorized": (
        None,
        [
            call("server.connection.identify", IDENTIFY),
            call("server.info", None, 2),
            call("printer.objects.subscribe", {"objects": {"print_stats": None}}, 3),
            {"silent_for": SILENCE_S},
        ],
    ),
    "wrong_header_key_is_unauthorized": (
        "wrong",
        [call("server.connection.identify", IDENTIFY), call("server.info", None, 2)],
    ),
    "identify_with_wrong_api_key": (
        None,
        [call("server.connection.identify", {**IDENTIFY, "api_key": "wrong"})],
    ),
    "identify_with_api_key": (
        None,
        [call("server.connection.identify", {**IDENTIFY, "api_key": "<valid key>"})],
    ),
    "protocol_errors": (
        "valid",
        [
            "{not json",
            {"jsonrpc": "1.0", "method": "server.info", "id": 1},
            call("no.such.method", None, 2),
            call("server.connection.identify", ["positional"], 3),
            call("server.connection.identify", {"client_name": "x"}, 4),
            call("server.connection.identify", {**IDENTIFY, "type": "robot"}, 5),
        ],
    ),
}


async def play(url: str, key: str, header: str | None, steps: list[Any]) -> list[Any]:
    headers = {} if header is None else {"X-Api-Key": key if header == "valid" else "wrong"}
    transcript: list[Any] = []
    async with connect(url, additional_headers=headers) as ws:
        for step in steps:
            if isinstance(step, dict) and "silent_for" in step:
                transcript.append({"silent_for": step["silent_for"], "got": await drain(ws)})
                continue
            text = step if isinstance(step, str) else json.dumps(real_key(step, key))
            await ws.send(text)
            transcript.append({"send": step})
            transcript.append({"recv": json.loads(await reply(ws))})
    return transcript


def real_key(message: dict[str, Any], key: str) -> dict[str, Any]:
    params = message.get("params")
    if isinstance(params, dict) and params.get("api_key") == "<valid key>":
        return {**message, "params": {**params, "api_key": key}}
    return message


async def reply(ws: ClientConnection) -> str:
    """The next message that is not a notification (an authenticated socket also gets
    notify_proc_stat_update every second)."""
    while True:
        text = str(await asyncio.wait_for(ws.recv(), 10))
        if '"method"' not in text or '"id"' in text:
            return text


async def drain(ws: ClientConnection) -> list[str]:
    got: list[str] = []
    try:
        async with asyncio.timeout(SILENCE_S):
            while True:
                got.append(json.loads(await ws.recv())["method"])
    except TimeoutError:
        return got


async def main(base: str, key: str) -> None:
    url = base.replace("http", "ws", 1).rstrip("/") + "/websocket"
    for name, (header, steps) in CASES.items():
        transcript = await play(url, key, header, steps)
        path = OUT / f"websocket_{name}.json"
        path.write_text(json.dumps(transcript, indent=2) + "\n")
        print(path.name)
    # What an authenticated agent hears without Klipper: proc stats, once a second.
    async with connect(url, additional_headers={"X-Api-Key": key}) as ws:
        await ws.send(json.dumps(call("server.connection.identify", IDENTIFY)))
        await reply(ws)
        notices = await drain(ws)
    (OUT / "websocket_authenticated_hears.json").write_text(json.dumps(notices, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
