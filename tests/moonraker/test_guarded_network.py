"""The address rule at connect time: the Moonraker client judges what a name resolves to.

DNS is outside the system, so most tests answer for it with a small resolver of their own
(the way a rebinding attacker's DNS server would answer); the fake Moonraker is real, on
127.0.0.1, and records whether anything reached it.
"""

import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme

from gql_server.moonraker.address_rule import IPAddress, IPNetwork
from gql_server.moonraker.client import ClientOptions, MoonrakerClient
from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.guarded_network import GuardedTransport
from tests.factories import LOOPBACK
from tests.support.fake_moonraker import FakeMoonraker

pytestmark = pytest.mark.anyio

NAME = "printer.farm.example"
LOOPBACK_V6 = (ipaddress.ip_network("::1/128"),)
FAST = ClientOptions(backoff_base=0.001, retries=2)


class ScriptedDns:
    """Answers each lookup with the next list of addresses (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self._answers: Iterator[list[str]] = iter(answers)
        self._last: list[str] = []
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        self.lookups.append(host)
        self._last = next(self._answers, self._last)
        return [ipaddress.ip_address(address) for address in self._last]


def port_of(fake: FakeMoonraker) -> int:
    return httpx.URL(fake.url).port or 80


def client(
    url: str, dns: ScriptedDns | None = None, allowed: tuple[IPNetwork, ...] = ()
) -> MoonrakerClient:
    """A client whose pool resolves through `dns` (the system resolver when None)."""
    if dns is None:
        return MoonrakerClient(url, options=replace(FAST, allowed_networks=allowed))
    transport = GuardedTransport(
        allowed=allowed, ssl_context=httpx.create_ssl_context(), resolve=dns
    )
    return MoonrakerClient(url, options=FAST, transport=transport)


async def refusal(url: str, dns: ScriptedDns | None = None) -> tuple[MoonrakerError, int]:
    """The error of one server_info call, and the requests the client counted."""
    async with client(url, dns) as moonraker:
        with pytest.raises(MoonrakerError) as caught:
            await moonraker.server_info()
        return caught.value, moonraker.requests_made


async def test_a_name_resolving_to_loopback_is_refused_before_any_request(
    fake_moonraker: FakeMoonraker,
) -> None:
    where = f"{NAME}:{port_of(fake_moonraker)}"
    error, attempts = await refusal(f"http://{where}", ScriptedDns(["127.0.0.1"]))
    message = f"the address of {where} is refused (see GQL_MOONRAKER_ALLOWED_NETWORKS)"
    assert (error.code, error.message, attempts) == ("ADDRESS_REFUSED", message, 1)
    assert fake_moonraker.requests == []


async def test_one_refused_address_among_the_answers_refuses_the_name(
    fake_moonraker: FakeMoonraker,
) -> None:
    dns = ScriptedDns(["192.0.2.10", "::ffff:169.254.169.254"])
    error, _ = await refusal(f"http://{NAME}:{port_of(fake_moonraker)}", dns)
    assert error.code == "ADDRESS_REFUSED"


async def test_a_changed_dns_answer_is_judged_again_on_the_next_connection(
    fake_moonraker: FakeMoonraker,
) -> None:
    url = f"http://{NAME}:{port_of(fake_moonraker)}"
    dns = ScriptedDns(["127.0.0.1"], ["169.254.169.254"])
    async with client(url, dns, allowed=LOOPBACK) as first:
        await first.server_info()
    error, _ = await refusal(url, dns)
    assert (error.code, dns.lookups, len(fake_moonraker.requests)) == (
        "ADDRESS_REFUSED",
        [NAME] * 2,
        1,
    )


async def test_the_judged_address_is_connected_and_the_host_header_keeps_the_name(
    fake_moonraker: FakeMoonraker,
) -> None:
    where = f"{NAME}:{port_of(fake_moonraker)}"
    async with client(f"http://{where}", ScriptedDns(["127.0.0.1"]), LOOPBACK) as moonraker:
        await moonraker.server_info()
    assert [seen.headers["host"] for seen in fake_moonraker.requests] == [where]


async def test_localhost_is_refused_by_default_and_reached_when_allowed(
    fake_moonraker: FakeMoonraker,
) -> None:
    url = f"http://localhost:{port_of(fake_moonraker)}"
    error, _ = await refusal(url)
    assert (error.code, fake_moonraker.requests) == ("ADDRESS_REFUSED", [])
    # The system resolver answers here; ::1, if it comes first, finds no listener and
    # the next judged address is tried.
    async with client(url, allowed=LOOPBACK + LOOPBACK_V6) as moonraker:
        assert "klippy_state" in await moonraker.server_info()


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "0177.1", "127.1", "[::ffff:7f00:1]"])
async def test_numeric_spellings_of_loopback_are_refused_at_connect_time(
    fake_moonraker: FakeMoonraker, host: str
) -> None:
    error, _ = await refusal(f"http://{host}:{port_of(fake_moonraker)}")
    assert (error.code, fake_moonraker.requests) == ("ADDRESS_REFUSED", [])


async def test_an_allowed_numeric_spelling_connects_to_the_address_it_spells(
    fake_moonraker: FakeMoonraker,
) -> None:
    async with client(f"http://0x7f.1:{port_of(fake_moonraker)}", allowed=LOOPBACK) as moonraker:
        assert "klippy_state" in await moonraker.server_info()


class _InfoHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"result": {"klippy_state": "ready"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest's output for failures."""


@pytest.fixture
def tls_printer() -> Iterator[tuple[str, ssl.SSLContext, list[str | None]]]:
    """An HTTPS server on 127.0.0.1 whose certificate names NAME only: (its URL by NAME,
    a client context trusting its CA, the SNI names it was sent)."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME).configure_cert(server_context)
    sni: list[str | None] = []

    def remember_sni(_socket: Any, name: str | None, _context: Any) -> None:
        sni.append(name)

    server_context.sni_callback = remember_sni
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InfoHandler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    try:
        yield f"https://{NAME}:{server.server_port}", client_context, sni
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_tls_checks_the_certificate_and_sends_sni_for_the_name_not_the_address(
    tls_printer: tuple[str, ssl.SSLContext, list[str | None]],
) -> None:
    url, context, sni = tls_printer
    dns = ScriptedDns(["127.0.0.1"])
    transport = GuardedTransport(allowed=LOOPBACK, ssl_context=context, resolve=dns)
    async with MoonrakerClient(url, options=FAST, transport=transport) as moonraker:
        info = await moonraker.server_info()
    assert (info, sni) == ({"klippy_state": "ready"}, [NAME])
