"""The address rule at connect time: resolve, judge every address, connect to a judged one.

Checking a URL when it is saved is not enough: its name can resolve to a public address
then and to 127.0.0.1 or 169.254.169.254 later (DNS rebinding). So the connection pool
of the Moonraker client opens its sockets through `GuardedBackend`, which resolves the
name itself and connects to the very address it judged, never to a name. TLS still
verifies and sends SNI for the URL's name: httpcore takes those from the request's
origin, not from the host given to `connect_tcp`.
"""

import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Iterable

import anyio
import httpcore
import httpx

from gql_server.moonraker.address_rule import (
    IPAddress,
    IPNetwork,
    address_refusal,
    host_refusal,
    parse_address,
)

# A name with more addresses than this is tried on the first ones only: each failed
# attempt costs a connect timeout, and a Moonraker has one or two (IPv4 and IPv6).
MAX_ATTEMPTS = 4

# (host, port, timeout) -> the host's addresses; tests stand in for DNS with their own.
Resolver = Callable[[str, int, float | None], Awaitable[list[IPAddress]]]


class AddressRefusedError(Exception):
    """The host, or an address it resolved to, is refused; nothing was sent to it.

    `reason` says which address and why, for the server log; what the API's callers
    see says only that the address is refused (see client.py).
    """

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address rule applied before every connect."""

    def __init__(
        self,
        allowed: Iterable[IPNetwork] = (),
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolve: Resolver | None = None,
    ) -> None:
        self._allowed = tuple(allowed)
        self._inner = inner or httpcore.AnyIOBackend()
        self._resolve = resolve or resolve_with_system

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else anyio.current_time() + timeout
        addresses = await self._judged_addresses(host, port, timeout)
        failure: Exception | None = None
        for address in addresses[:MAX_ATTEMPTS]:
            left = None if deadline is None else max(deadline - anyio.current_time(), 0.0)
            try:
                return await self._inner.connect_tcp(
                    str(address), port, left, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Moonraker is reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _judged_addresses(
        self, host: str, port: int, timeout: float | None
    ) -> list[IPAddress]:
        return await judged_addresses(host, port, timeout, self._allowed, self._resolve)


async def judged_addresses(
    host: str,
    port: int,
    timeout: float | None,
    allowed: Iterable[IPNetwork] = (),
    resolve: Resolver | None = None,
) -> list[IPAddress]:
    """Every address `host` stands for, once all are judged; one refused address refuses
    the host, so a DNS answer mixing a LAN address with 127.0.0.1 gets nowhere. The
    websocket of live mode (moonraker/live.py) connects through it too."""
    reason = host_refusal(host, allowed)
    if reason is not None:
        raise AddressRefusedError(host, reason)
    literal = parse_address(host)
    resolve = resolve or resolve_with_system
    addresses = [literal] if literal is not None else await resolve(host, port, timeout)
    for address in addresses:
        reason = address_refusal(address, allowed)
        if reason is not None:
            raise AddressRefusedError(host, f"resolves to {address}, {reason}")
    return addresses


async def resolve_with_system(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    """The addresses of `host` in the system resolver's order, without repeats."""
    try:
        with anyio.fail_after(timeout):
            answers = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"no address for {host} in time") from exc
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    found: dict[IPAddress, None] = {}
    for *_, sockaddr in answers:
        address = parse_address(str(sockaddr[0]))
        if address is not None:
            found[address] = None
    if not found:
        raise httpcore.ConnectError(f"no usable address for {host}")
    return list(found)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a pool that connects through `GuardedBackend`.

    httpx 0.28 has no public way to hand its pool a network backend (encode/httpx#3749
    is still open), so the pool it built is replaced; the check below fails loudly if
    a later httpx stops keeping it in `_pool`, rather than leaving the rule unenforced.
    """

    def __init__(
        self,
        *,
        allowed: Iterable[IPNetwork],
        ssl_context: ssl.SSLContext,
        resolve: Resolver | None = None,
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("this httpx version keeps no AsyncConnectionPool in _pool")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,  # httpx's default limits, as the replaced pool had
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allowed, resolve=resolve),
        )
