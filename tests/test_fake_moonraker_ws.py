"""The fake's /websocket answers as the real Moonraker 0.11.0 did.

fixtures/moonraker/websocket_*.json were recorded from a real Moonraker with
``[authorization]`` and no Klipper (scripts/record_moonraker_websocket.py); each transcript
is played to the fake, set up the same way, and its replies must be the recorded ones
(connection ids aside, which are Python object ids). websocket_klippy_session.json is
what an agent heard from a real Moonraker while a stand-in Klipper printed, restarted and
shut down (scripts/record_moonraker_klippy_session.py); the fake, driven through the same
steps, must send the same messages in the same order (times and ids as their types).
"""

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support.fake_moonraker import SAMPLES, FakeMoonraker, FakeMoonrakerServer

KEY = "0123456789abcdef0123456789abcdef"  # the recordings say "<valid key>"
# Transcripts of single requests; the two below are played by their own tests.
RECORDED = sorted(
    p.name
    for p in SAMPLES.glob("websocket_*.json")
    if p.name not in ("websocket_authenticated_hears.json", "websocket_klippy_session.json")
)
HEADERS = {
    "identify_with_header_key": "valid",
    "identify_twice": "valid",
    "subscribe_before_klippy": "valid",
    "wrong_header_key_is_unauthorized": "wrong",
    "protocol_errors": "valid",
}
QUIET_S = 0.3  # a notification would arrive within milliseconds on loopback
IDENTIFY = {"client_name": "t", "version": "1", "type": "agent", "url": "x"}


@pytest.fixture(scope="module")
def keyed_server() -> Any:
    with FakeMoonrakerServer(FakeMoonraker(api_key=KEY)) as server:
        yield server


@pytest.fixture
def keyed(keyed_server: FakeMoonrakerServer) -> FakeMoonraker:
    keyed_server.moonraker.reset()
    return keyed_server.moonraker


def _url(fake: FakeMoonraker) -> str:
    return fake.url.replace("http", "ws", 1) + "/websocket"


def _headers(case: str) -> dict[str, str]:
    header = HEADERS.get(case)
    return {} if header is None else {"X-Api-Key": KEY if header == "valid" else "wrong"}


def _without_ids(message: Any) -> Any:
    result = message.get("result") if isinstance(message, dict) else None
    if isinstance(result, dict) and "connection_id" in result:
        assert isinstance(result["connection_id"], int)
        return {**message, "result": {**result, "connection_id": "<id>"}}
    return message


def _with_key(step: Any) -> Any:
    params = step.get("params") if isinstance(step, dict) else None
    if isinstance(params, dict) and params.get("api_key") == "<valid key>":
        return {**step, "params": {**params, "api_key": KEY}}
    return step


async def _silent(ws: ClientConnection, fake: FakeMoonraker) -> list[str]:
    fake.websocket.notify_noise()
    fake.websocket.start_print("a.gcode")
    heard: list[str] = []
    try:
        async with asyncio.timeout(QUIET_S):
            while True:
                heard.append(json.loads(await ws.recv())["method"])
    except TimeoutError:
        return heard


async def _play(fake: FakeMoonraker, case: str, steps: list[Any]) -> list[Any]:
    played: list[Any] = []
    async with connect(_url(fake), additional_headers=_headers(case)) as ws:
        for step in steps:
            if "silent_for" in step:
                played.append({"silent_for": step["silent_for"], "got": await _silent(ws, fake)})
            elif "send" in step:
                sent = _with_key(step["send"])
                await ws.send(sent if isinstance(sent, str) else json.dumps(sent))
                played.append(step)
            else:
                played.append({"recv": json.loads(await asyncio.wait_for(ws.recv(), 5))})
    return played


@pytest.mark.parametrize("name", RECORDED)
def test_the_fake_answers_as_the_recorded_moonraker(keyed: FakeMoonraker, name: str) -> None:
    keyed.websocket.klippy_state, keyed.websocket.klippy_ever_connected = "disconnected", False
    recorded = json.loads((SAMPLES / name).read_text())
    case = name.removeprefix("websocket_").removesuffix(".json")
    played = asyncio.run(_play(keyed, case, recorded))
    normalise = [{**s, "recv": _without_ids(s["recv"])} if "recv" in s else s for s in played]
    expected = [{**s, "recv": _without_ids(s["recv"])} if "recv" in s else s for s in recorded]
    assert normalise == expected


async def _identified(fake: FakeMoonraker) -> ClientConnection:
    ws = await connect(_url(fake), additional_headers={"X-Api-Key": KEY})
    await ws.send(json.dumps({"jsonrpc": "2.0", "method": "server.connection.identify",
                              "params": IDENTIFY, "id": 1}))  # fmt: skip
    await ws.recv()
    return ws


async def _call(ws: ClientConnection, method: str, params: Any, req_id: int) -> Any:
    await ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": req_id}))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message.get("id") == req_id:
            return message


async def _next(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def test_an_authenticated_agent_hears_what_the_recorded_one_heard(keyed: FakeMoonraker) -> None:
    recorded = json.loads((SAMPLES / "websocket_authenticated_hears.json").read_text())

    async def hear() -> str:
        async with await _identified(keyed) as ws:
            keyed.websocket.notify_noise()
            return str((await _next(ws))["method"])

    assert asyncio.run(hear()) == recorded[0]


def test_status_updates_carry_only_subscribed_changed_fields(keyed: FakeMoonraker) -> None:
    async def run() -> Any:
        async with await _identified(keyed) as ws:
            objects = {"extruder": ["temperature"], "print_stats": None}
            await _call(ws, "printer.objects.subscribe", {"objects": objects}, 2)
            keyed.websocket.push_status({"extruder": {"temperature": 210.0, "power": 0.5},
                                         "heater_bed": {"temperature": 60.0}})  # fmt: skip
            return await _next(ws)

    message = asyncio.run(run())
    assert message["method"] == "notify_status_update"
    assert message["params"][0] == {"extruder": {"temperature": 210.0}}


def test_a_klippy_restart_drops_subscriptions_but_not_the_socket(keyed: FakeMoonraker) -> None:
    async def run() -> list[Any]:
        async with await _identified(keyed) as ws:
            await _call(ws, "printer.objects.subscribe", {"objects": {"print_stats": None}}, 2)
            keyed.websocket.klippy_restart()
            heard = [(await _next(ws))["method"], (await _next(ws))["method"]]
            keyed.websocket.push_status({"print_stats": {"state": "printing"}})
            keyed.websocket.notify_noise()  # what arrives next, since the status did not
            heard.append((await _next(ws))["method"])
            return heard

    assert asyncio.run(run()) == [
        "notify_klippy_disconnected",
        "notify_klippy_ready",
        "notify_proc_stat_update",
    ]


def test_history_notifications_carry_the_job_as_the_http_api_stores_it(
    keyed: FakeMoonraker,
) -> None:
    async def run() -> list[Any]:
        async with await _identified(keyed) as ws:
            job = keyed.websocket.start_print("a.gcode")
            added = await _next(ws)
            keyed.websocket.end_print(job["job_id"], "cancelled")
            return [added, await _next(ws)]

    added, finished = asyncio.run(run())
    stored = keyed.find_job("000001")
    assert added["params"][0]["action"] == "added"
    assert added["params"][0]["job"]["end_time"] is None
    assert finished["params"] == [{"action": "finished", "job": {**finished["params"][0]["job"]}}]
    assert finished["params"][0]["job"] == {
        key: stored[key] for key in finished["params"][0]["job"]
    }


def test_a_wrong_key_is_silent_not_refused(keyed: FakeMoonraker) -> None:
    async def run() -> list[str]:
        async with connect(_url(keyed), additional_headers={"X-Api-Key": "wrong"}) as ws:
            return await _silent(ws, keyed)

    assert asyncio.run(run()) == []


# ------------------------------------------------------------ a print, recorded with Klipper

SESSION = "websocket_klippy_session.json"
VOLATILE = ("eventtime", "start_time", "end_time", "connection_id")
SUBSCRIPTION = {"print_stats": None, "extruder": ["temperature", "target"], "webhooks": None}


def _normalised(message: Any) -> Any:
    """As scripts/record_moonraker_klippy_session.py: volatile values become their type."""
    if isinstance(message, dict):
        return {
            key: type(value).__name__
            if key in VOLATILE and value is not None
            else _normalised(value)
            for key, value in message.items()
        }
    if isinstance(message, list):
        return [
            "float" if isinstance(item, float) and index == 1 else _normalised(item)
            for index, item in enumerate(message)
        ]
    return message


async def _drain(ws: ClientConnection, into: list[Any]) -> None:
    try:
        async with asyncio.timeout(QUIET_S):
            while True:
                into.append(_normalised(json.loads(await ws.recv())))
    except TimeoutError:
        return


async def _session(fake: FakeMoonraker) -> list[Any]:
    """The recorded session's Klipper steps, played on the fake."""
    ws_fake = fake.websocket
    heard: list[Any] = []
    async with connect(_url(fake), additional_headers={"X-Api-Key": KEY}) as ws:
        heard.append(_normalised(await _call(ws, "server.connection.identify", IDENTIFY, 1)))
        heard.append(
            _normalised(await _call(ws, "printer.objects.subscribe", {"objects": SUBSCRIPTION}, 2))
        )
        ws_fake.push_status({"extruder": {"temperature": 150.0, "target": 210.0, "power": 1.0}})
        ws_fake.push_status({"print_stats": {"state": "printing", "filename": "cube.gcode"}})
        fake.add_job(filename="cube.gcode", status="in_progress", auxiliary_data=[])
        ws_fake.push_status(
            {"print_stats": {"print_duration": 12.5, "total_duration": 14.0, "filament_used": 33.0}}
        )
        ws_fake.push_status(
            {"print_stats": {"state": "complete", "print_duration": 20.0, "total_duration": 22.0}}
        )
        fake.finish_job(
            "000001",
            "completed",
            print_duration=20.0,
            total_duration=22.0,
            filament_used=33.0,
            auxiliary_data=[],
        )
        ws_fake.push_status(
            {
                "print_stats": {
                    "state": "printing",
                    "filename": "cube2.gcode",
                    "print_duration": 0.0,
                    "total_duration": 0.0,
                }
            }
        )
        fake.add_job(
            filename="cube2.gcode", status="in_progress", filament_used=33.0, auxiliary_data=[]
        )
        ws_fake.klippy_restart()
        ws_fake.push_status({"extruder": {"temperature": 99.0}})
        await _drain(ws, heard)
        heard.append(
            _normalised(await _call(ws, "printer.objects.subscribe", {"objects": SUBSCRIPTION}, 3))
        )
        ws_fake.klippy_shutdown("Emergency stop")
        await _drain(ws, heard)
    return heard


def test_a_print_and_a_klippy_restart_notify_as_the_recorded_moonraker_did(
    keyed: FakeMoonraker,
) -> None:
    recorded = json.loads((SAMPLES / SESSION).read_text())
    expected = [message for step in recorded for message in step["recv"]]
    assert asyncio.run(_session(keyed)) == expected
