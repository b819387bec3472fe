"""One printer's Moonraker websocket (JSON-RPC 2.0): connect, identify as an agent,
subscribe to the printer's state, and hand on the notifications that matter.

Moonraker never refuses the upgrade for auth: a socket with a missing or wrong key stays
open and silently gets no notification. Every method but ``identify`` then answers
``{"code": -32602, "message": "Unauthorized"}`` (Moonraker maps its 401 to -32602), and
``identify`` with a wrong ``api_key`` answers -32602 "Invalid API Key"
(tests/fixtures/moonraker/websocket_*.json, recorded from Moonraker 0.11.0). So the key
goes both in the upgrade's ``X-Api-Key`` header and in ``identify``, and a refusal of
``identify`` or of ``server.info`` is AUTH_FAILED: a printer that looks connected but
hears nothing is never reported as connected.

The connection is made through the address rule (guarded_network.judged_addresses), to
the very address judged, as the HTTP client's are.
"""

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Self

import httpcore
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.frames import CloseCode

from gql_server.moonraker.address_rule import IPNetwork
from gql_server.moonraker.client import parse_base_url, tls_context
from gql_server.moonraker.closing import ClosedOnExit
from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.guarded_network import AddressRefusedError, Resolver, judged_addresses

CLIENT_NAME = "gql_server"
CLIENT_VERSION = metadata.version("gql_server")
# identify requires a URL (the client's homepage); there is no public one.
CLIENT_URL = ""
# The Klipper objects and fields the live state reads; Moonraker then sends only these.
SUBSCRIPTION: dict[str, list[str]] = {
    "print_stats": ["state", "filename", "print_duration", "total_duration", "message"],
    "display_status": ["progress", "message"],
    "virtual_sdcard": ["progress", "is_active"],
    "webhooks": ["state", "state_message"],
    "extruder": ["temperature", "target"],
    "heater_bed": ["temperature", "target"],
    "idle_timeout": ["state"],
}
# Notifications acted on; everything else (notify_proc_stat_update once a second, gcode
# responses, file and update-manager events) is recognised from the message's first bytes
# and dropped without being parsed.
WANTED = frozenset(
    {
        "notify_status_update",
        "notify_history_changed",
        "notify_klippy_ready",
        "notify_klippy_shutdown",
        "notify_klippy_disconnected",
    }
)
# Moonraker writes a notification's keys in this order ({"jsonrpc": "2.0", "method": …});
# a reply has "result" or "error" second, so its contents can never match.
_METHOD = re.compile(r'^\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"method"\s*:\s*"([A-Za-z0-9_.]+)"')
HEAD_BYTES = 120
AUTH_MESSAGES = ("Unauthorized", "Invalid API Key", "API Key authentication is disabled")


@dataclass(frozen=True, slots=True)
class LiveOptions:
    open_timeout: float = 10.0
    call_timeout: float = 10.0
    # A history job with its metadata is a few KiB; anything near this is not Moonraker.
    max_message_bytes: int = 1024 * 1024
    # Notifications waiting for the consumer; more means it cannot keep up: reconnect.
    max_backlog: int = 2000
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    allowed_networks: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True, slots=True)
class Notification:
    method: str
    params: list[Any]


def websocket_url(base_url: str) -> str:
    """``http(s)://host:port/prefix`` → ``ws(s)://host:port/prefix/websocket``."""
    url = parse_base_url(base_url)
    scheme = "wss" if url.scheme == "https" else "ws"
    path = url.raw_path.decode("ascii").split("?", 1)[0].rstrip("/")
    return str(url.copy_with(scheme=scheme, raw_path=f"{path}/websocket".encode()))


class MoonrakerSocket(ClosedOnExit):
    """A connected, identified socket; use as ``async with``. ``notifications()`` yields
    the wanted notifications in order; calls may be made meanwhile."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        options: LiveOptions,
        resolve: Resolver | None = None,
    ) -> None:
        self._url = websocket_url(base_url)
        self._where = httpx.URL(base_url).host
        self._api_key = api_key or None
        self._options = options
        self._resolve = resolve
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._queue: asyncio.Queue[Notification | MoonrakerError] = asyncio.Queue(
            options.max_backlog
        )
        self._reader: asyncio.Task[None] | None = None
        self.connection_id: int | None = None

    async def __aenter__(self) -> Self:
        self._ws = await self._open()
        self._reader = asyncio.ensure_future(self._read())
        try:
            await self._identify()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), self._options.call_timeout)

    async def server_info(self) -> dict[str, Any]:
        info = await self.call("server.info")
        if not isinstance(info, dict):
            raise MoonrakerError("BAD_RESPONSE", "server.info answered no object")
        return info

    async def subscribe(self) -> dict[str, Any] | None:
        """Subscribe to SUBSCRIPTION; the objects' current status, or None when Klippy
        refused or is not there (-32601 before it first connected, 503 while it is away):
        the history still flows, and notify_klippy_ready brings the next attempt."""
        try:
            result = await self.call("printer.objects.subscribe", {"objects": SUBSCRIPTION})
        except RpcError:
            return None
        status = result.get("status") if isinstance(result, dict) else None
        if not isinstance(status, dict):
            raise MoonrakerError("BAD_RESPONSE", "subscribe answered no status")
        return status

    async def notifications(self) -> AsyncIterator[Notification]:
        """Until the socket closes (raised as UNREACHABLE) or fails."""
        while True:
            item = await self._queue.get()
            if isinstance(item, MoonrakerError):
                raise item
            yield item

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One JSON-RPC call; its error as RpcError, AUTH_FAILED when it is Moonraker's
        Unauthorized, TIMEOUT when no answer comes."""
        ws = self._ws
        if ws is None:
            raise RuntimeError("not connected")
        req_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if params is not None:
            message["params"] = params
        try:
            await ws.send(json.dumps(message))
            async with asyncio.timeout(self._options.call_timeout):
                return await future
        except TimeoutError:
            raise MoonrakerError("TIMEOUT", f"{method} got no answer in time") from None
        except ConnectionClosed as exc:
            raise _closed(exc) from exc
        finally:
            self._pending.pop(req_id, None)

    async def _open(self) -> ClientConnection:
        options = self._options
        url = httpx.URL(self._url)
        port = url.port or (443 if url.scheme == "wss" else 80)
        try:
            async with asyncio.timeout(options.open_timeout):
                addresses = await judged_addresses(
                    url.host, port, options.open_timeout, options.allowed_networks, self._resolve
                )
                return await connect(
                    self._url,
                    host=str(addresses[0]),
                    port=port,
                    additional_headers={"X-Api-Key": self._api_key} if self._api_key else None,
                    proxy=None,  # printers are on the LAN: an outbound proxy must not see keys
                    compression=None,
                    open_timeout=None,  # the timeout above covers resolving too
                    max_size=options.max_message_bytes,
                    max_queue=64,
                    ping_interval=options.ping_interval,
                    ping_timeout=options.ping_timeout,
                    close_timeout=options.call_timeout,
                    ssl=tls_context() if url.scheme == "wss" else None,
                    user_agent_header=f"{CLIENT_NAME}/{CLIENT_VERSION}",
                )
        except AddressRefusedError as exc:
            raise MoonrakerError("ADDRESS_REFUSED", "the printer's address is refused") from exc
        except TimeoutError:
            raise MoonrakerError("TIMEOUT", f"no websocket to {self._where} in time") from None
        except httpcore.ConnectTimeout:
            raise MoonrakerError("TIMEOUT", f"no address for {self._where} in time") from None
        except (InvalidURI, ValueError) as exc:
            raise MoonrakerError("INVALID_URL", f"the printer's URL cannot be used: {exc}") from exc
        except InvalidHandshake as exc:
            raise MoonrakerError("HTTP_ERROR", f"websocket upgrade refused: {exc}") from exc
        except (OSError, httpcore.ConnectError) as exc:
            raise MoonrakerError("UNREACHABLE", f"cannot reach {self._where}: {exc}") from exc

    async def _identify(self) -> None:
        params: dict[str, Any] = {
            "client_name": CLIENT_NAME,
            "version": CLIENT_VERSION,
            "type": "agent",
            "url": CLIENT_URL,
        }
        if self._api_key:
            params["api_key"] = self._api_key
        try:
            result = await self.call("server.connection.identify", params)
        except RpcError as exc:
            raise MoonrakerError("BAD_RESPONSE", f"identify refused: {exc.message}") from exc
        if isinstance(result, dict) and isinstance(result.get("connection_id"), int):
            self.connection_id = result["connection_id"]

    async def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for text in ws:
                self._handle(text)
            why = f"{ws.close_code} {ws.close_reason or ''}".strip()
            failure = MoonrakerError("UNREACHABLE", f"Moonraker closed the websocket ({why})")
        except ConnectionClosed as exc:
            failure = _closed(exc)
        except MoonrakerError as exc:
            failure = exc
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        if self._queue.full():
            # The failure must reach the consumer; the connection is over anyway, and the
            # catch-up sync of the next one covers what the dropped notification said.
            self._queue.get_nowait()
        self._queue.put_nowait(failure)

    def _handle(self, text: str | bytes) -> None:
        head = text[:HEAD_BYTES] if isinstance(text, str) else text[:HEAD_BYTES].decode("latin-1")
        found = _METHOD.search(head)
        if found is not None and found.group(1) not in WANTED:
            return  # noise, dropped before parsing
        try:
            message = json.loads(text)
        except ValueError:
            raise MoonrakerError("BAD_RESPONSE", "the websocket sent invalid JSON") from None
        if not isinstance(message, dict):
            return
        if "method" in message:
            self._notify(message)
        else:
            self._resolve_reply(message)

    def _notify(self, message: dict[str, Any]) -> None:
        method = message["method"]
        if method not in WANTED:
            return
        params = message.get("params")
        try:
            self._queue.put_nowait(Notification(method, params if isinstance(params, list) else []))
        except asyncio.QueueFull:
            raise MoonrakerError(
                "BAD_RESPONSE", "more notifications than could be handled; reconnecting"
            ) from None

    def _resolve_reply(self, message: dict[str, Any]) -> None:
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        error = message.get("error")
        if isinstance(error, dict):
            future.set_exception(_rpc_failure(error))
        else:
            future.set_result(message.get("result"))


class RpcError(Exception):
    """A JSON-RPC error Moonraker answered (not an auth refusal: that is AUTH_FAILED)."""

    def __init__(self, code: Any, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def _rpc_failure(error: dict[str, Any]) -> Exception:
    message = str(error.get("message", ""))[:200]
    if any(text in message for text in AUTH_MESSAGES) or error.get("code") == 401:
        return MoonrakerError("AUTH_FAILED", f"Moonraker refused the API key: {message}")
    return RpcError(error.get("code"), message)


def _closed(exc: ConnectionClosed) -> MoonrakerError:
    if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
        return MoonrakerError("TOO_LARGE", "Moonraker sent a message over the size limit")
    frame = exc.rcvd
    why = f"{frame.code} {frame.reason}".strip() if frame is not None else "no close frame"
    return MoonrakerError("UNREACHABLE", f"the websocket closed ({why})")
