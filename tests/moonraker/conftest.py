"""Client fixtures: the one fake Moonraker of tests/support, holding the recorded printer.

A real server on 127.0.0.1 (not a mock transport) so timeouts, streaming, redirects and
Content-Length handling go through httpx exactly as against a printer.
"""

import socket
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.fake_moonraker import FakeMoonraker, load_sample


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sample() -> Callable[[str], Any]:
    return load_sample


@pytest.fixture
def fake_moonraker(fake: FakeMoonraker) -> FakeMoonraker:
    """The session's fake, emptied, then filled with the printer the samples come from."""
    fake.add_recorded_printer()
    return fake


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released by us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
