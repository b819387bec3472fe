"""The Moonraker websocket client against the fake's /websocket on 127.0.0.1."""

import asyncio
from dataclasses import replace

import pytest

from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.live import LiveOptions, MoonrakerSocket, Notification, websocket_url
from tests.factories import LOOPBACK
from tests.support.fake_moonraker import FakeMoonraker

OPTIONS = LiveOptions(open_timeout=2.0, call_timeout=2.0, allowed_networks=LOOPBACK)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://voron.local:7125", "ws://voron.local:7125/websocket"),
        ("https://farm.example/printers/voron/", "wss://farm.example/printers/voron/websocket"),
    ],
)
def test_the_websocket_is_beside_the_http_api(base: str, expected: str) -> None:
    assert websocket_url(base) == expected


def _failure(fake: FakeMoonraker, options: LiveOptions = OPTIONS, key: str | None = None) -> str:
    async def connect() -> None:
        async with MoonrakerSocket(fake.url, api_key=key, options=options) as socket:
            await socket.server_info()

    with pytest.raises(MoonrakerError) as caught:
        asyncio.run(connect())
    return caught.value.code


def test_loopback_is_refused_unless_allowed(fake: FakeMoonraker) -> None:
    assert _failure(fake, replace(OPTIONS, allowed_networks=())) == "ADDRESS_REFUSED"
    assert fake.websocket.opened == 0


def test_a_wrong_key_fails_identify_as_auth_failed(fake: FakeMoonraker) -> None:
    fake.api_key = "right"
    assert _failure(fake, key="wrong") == "AUTH_FAILED"


def test_noise_is_dropped_and_wanted_notifications_keep_their_order(fake: FakeMoonraker) -> None:
    async def listen() -> list[Notification]:
        async with MoonrakerSocket(fake.url, api_key=None, options=OPTIONS) as socket:
            await socket.subscribe()
            fake.websocket.notify_noise()
            fake.websocket.push_status({"extruder": {"temperature": 30.0}})
            fake.websocket.notify_noise()
            fake.websocket.klippy_shutdown()
            heard: list[Notification] = []
            async for notification in socket.notifications():
                heard.append(notification)
                if notification.method == "notify_klippy_shutdown":
                    return heard
            return heard

    heard = asyncio.run(listen())
    assert [n.method for n in heard] == [
        "notify_status_update",
        "notify_status_update",
        "notify_klippy_shutdown",
    ]


def test_a_message_over_the_limit_ends_the_connection_as_too_large(fake: FakeMoonraker) -> None:
    options = replace(OPTIONS, max_message_bytes=4096)

    async def listen() -> None:
        async with MoonrakerSocket(fake.url, api_key=None, options=options) as socket:
            await socket.subscribe()
            fake.websocket.push_status({"print_stats": {"message": "x" * 10_000}})
            async for _ in socket.notifications():
                pass

    with pytest.raises(MoonrakerError) as caught:
        asyncio.run(listen())
    assert caught.value.code == "TOO_LARGE"


def test_moonraker_going_away_ends_the_notifications_as_unreachable(fake: FakeMoonraker) -> None:
    async def listen() -> None:
        async with MoonrakerSocket(fake.url, api_key=None, options=OPTIONS) as socket:
            fake.websocket.drop_connections()
            async for _ in socket.notifications():
                pass

    with pytest.raises(MoonrakerError) as caught:
        asyncio.run(listen())
    assert caught.value.code == "UNREACHABLE"
    assert "1001" in caught.value.message
