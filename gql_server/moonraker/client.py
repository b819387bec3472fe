"""HTTP access to one printer's Moonraker: bounded, retried, with typed failures.

Every failure leaves as a `MoonrakerError` whose message is safe to show to our
API's clients (see errors.py); callers never see an httpx exception.
"""

import functools
import json
import logging
import random
import ssl
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import anyio
import httpx

from gql_server.moonraker.address_rule import ALLOW_SETTING, IPNetwork
from gql_server.moonraker.closing import ClosedOnExit
from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.guarded_network import AddressRefusedError, GuardedTransport

log = logging.getLogger(__name__)

# Gateway statuses come from a proxy in front of a restarting Moonraker: worth a
# retry. Every other status is Moonraker's considered answer and is final.
RETRY_STATUSES = frozenset({502, 503, 504})
TRANSIENT_CODES = frozenset({"UNREACHABLE", "TIMEOUT"})
# An error body is read only for Moonraker's one-line `error.message`; the
# recorded error bodies (with their tracebacks) are all under 2.1 KB.
ERROR_BODY_BYTES = 64 * 1024
MESSAGE_CHARS = 200


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    content_type: str
    body: bytes


def parse_base_url(base_url: str) -> httpx.URL:
    """The URL as the HTTP client reads it (IDNA applied: ``127。0。0。1`` is 127.0.0.1),
    or INVALID_URL for one it cannot use, such as a full-width or broken punycode host."""
    try:
        url = httpx.URL(base_url)
        host = url.host  # decoded from punycode here, where a broken label raises
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are ValueErrors
        raise MoonrakerError("INVALID_URL", f"the printer's URL cannot be used: {exc}") from None
    if url.scheme not in ("http", "https") or not host:
        raise MoonrakerError("INVALID_URL", "the printer's URL must be http(s) with a host")
    return url


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    """How long to wait, how much to read and how often to retry, and where a printer's
    address may point; the sync's options extend these (services/sync/runs.py)."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_response_bytes: int = 32 * 1024 * 1024
    retries: int = 3
    backoff_base: float = 0.2
    # GQL_MOONRAKER_ALLOWED_NETWORKS: where a Moonraker URL may point beyond the default
    # address rule (tests on 127.0.0.1 allow loopback here).
    allowed_networks: tuple[IPNetwork, ...] = ()


DEFAULT_OPTIONS = ClientOptions()


class MoonrakerClient(ClosedOnExit):
    """One printer's Moonraker over one connection pool; use as `async with`.

    A request that fails with a transport error or a 502/503/504 is sent again
    up to `retries` times, so a printer that accepts connections but never
    answers costs (retries + 1) * read_timeout (2 min with the defaults) plus
    backoff before TIMEOUT is raised.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        options: ClientOptions = DEFAULT_OPTIONS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`options.allowed_networks` widens the address rule (address_rule.py), enforced
        on every connection; a `transport` given by a test replaces the guarded one."""
        url = parse_base_url(base_url)
        self._api_key = api_key or None
        self._options = options
        self._where = _host_port(url)
        self.requests_made: int = 0
        # trust_env=False: printers sit on the LAN, and a proxy or .netrc meant
        # for the server's outbound traffic must not see their API keys.
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"X-Api-Key": self._api_key} if self._api_key else None,
            timeout=httpx.Timeout(
                options.read_timeout, connect=options.connect_timeout, pool=options.connect_timeout
            ),
            follow_redirects=False,
            trust_env=False,
            transport=transport
            or GuardedTransport(allowed=options.allowed_networks, ssl_context=tls_context()),
        )

    async def __aenter__(self) -> Self:
        return self

    async def aclose(self) -> None:
        await self._http.aclose()

    async def server_info(self) -> dict[str, Any]:
        """Moonraker's version and Klippy state: the cheapest reachability check."""
        return _expect_dict(await self._result("/server/info"), "server info")

    async def history_page(
        self, *, start: int, limit: int, order: str = "asc", since: float | None = None
    ) -> list[dict[str, Any]]:
        """One page of jobs; `start` is an offset, `order` sorts by job_id."""
        if start < 0 or limit < 1:
            # limit <= 0 makes Moonraker return the whole history (15 MB for 10,000 jobs).
            raise ValueError("history_page needs start >= 0 and limit >= 1")
        if order not in ("asc", "desc"):
            raise ValueError("order must be 'asc' or 'desc'")
        params: dict[str, str | int | float] = {"start": start, "limit": limit, "order": order}
        if since is not None:
            params["since"] = since
        result = _expect_dict(await self._result("/server/history/list", params), "history")
        jobs = result.get("jobs")
        if not isinstance(jobs, list) or not all(isinstance(job, dict) for job in jobs):
            raise MoonrakerError("BAD_RESPONSE", "Moonraker's history page has no list of jobs")
        return jobs

    async def history_job(self, uid: str) -> dict[str, Any] | None:
        """One job by its hex id, or None when Moonraker no longer has it."""
        result = await self._result("/server/history/job", {"uid": uid}, missing_ok=True)
        if result is None:
            return None
        job = _expect_dict(result, "job").get("job")
        return _expect_dict(job, "job")

    async def history_totals(self) -> dict[str, Any]:
        """Moonraker's own running totals: `{job_totals, auxiliary_totals}`."""
        result = _expect_dict(await self._result("/server/history/totals"), "totals")
        _expect_dict(result.get("job_totals"), "job totals")
        return result

    async def file_metadata(self, filename: str) -> dict[str, Any] | None:
        """The slicer metadata of a gcode file, or None when the file is gone."""
        result = await self._result(
            "/server/files/metadata", {"filename": filename}, missing_ok=True
        )
        return None if result is None else _expect_dict(result, "file metadata")

    async def gcode_tail(self, filename: str, size: int) -> str | None:
        """The last `size` bytes of a gcode file, where slicers write their settings.

        None when the file is gone, or when its name has empty, '.' or '..'
        segments: such a name would address another endpoint, not a file.
        """
        if size < 1:
            raise ValueError("size must be at least 1")
        path = _gcode_path(filename)
        if path is None:
            return None
        reply = await self._get(path, headers={"Range": f"bytes=-{size}"})
        if _is_missing(reply):
            return None
        if reply.status == 416:
            return ""  # Tornado's answer to any range over an empty file
        self._check_status(reply)
        _reject_html(reply)
        # A server that ignores Range answers 200 with the whole file.
        return reply.body[-size:].decode("utf-8", errors="replace")

    async def _result(
        self,
        path: str,
        params: dict[str, str | int | float] | None = None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """The `result` member of a JSON answer (None for a 404 when missing_ok)."""
        reply = await self._get(path, params=params)
        if missing_ok and _is_missing(reply):
            return None
        self._check_status(reply)
        _reject_html(reply)
        return _json_result(reply.body)

    async def _get(
        self,
        path: str,
        *,
        params: dict[str, str | int | float] | None = None,
        headers: dict[str, str] | None = None,
    ) -> _Reply:
        """Send, retrying transient failures; the last attempt's outcome is final."""
        for attempt in range(self._options.retries):
            try:
                reply = await self._attempt(path, params, headers)
            except MoonrakerError as error:
                if error.code not in TRANSIENT_CODES:
                    raise
                log.info("retrying %s after %s", path, error)
            else:
                if reply.status not in RETRY_STATUSES:
                    return reply
                log.info("retrying %s after HTTP %d", path, reply.status)
            await anyio.sleep(random.uniform(0, self._options.backoff_base * 2**attempt))
        return await self._attempt(path, params, headers)

    async def _attempt(
        self,
        path: str,
        params: dict[str, str | int | float] | None,
        headers: dict[str, str] | None,
    ) -> _Reply:
        self.requests_made += 1
        try:
            async with self._http.stream("GET", path, params=params, headers=headers) as response:
                return await self._read(response)
        except AddressRefusedError as exc:
            log.warning("refused to connect to %s: %s", self._where, exc.reason)
            message = f"the address of {self._where} is refused (see {ALLOW_SETTING})"
            raise MoonrakerError("ADDRESS_REFUSED", message) from exc
        except httpx.TimeoutException as exc:
            raise MoonrakerError("TIMEOUT", self._timeout_message(exc)) from exc
        except httpx.ConnectError as exc:
            message = f"cannot connect to {self._where}: {_reason(exc)}"
            raise MoonrakerError("UNREACHABLE", self._safe(message)) from exc
        except httpx.TransportError as exc:
            message = f"connection to {self._where} failed: {_reason(exc)}"
            raise MoonrakerError("UNREACHABLE", self._safe(message)) from exc
        except httpx.DecodingError as exc:
            message = "Moonraker's answer could not be decompressed"
            raise MoonrakerError("BAD_RESPONSE", message) from exc

    async def _read(self, response: httpx.Response) -> _Reply:
        limit = self._options.max_response_bytes if response.is_success else ERROR_BODY_BYTES
        body = await _read_capped(response, limit)
        if body is None:
            if response.is_success:
                message = f"Moonraker's answer is larger than {limit} bytes"
                raise MoonrakerError("TOO_LARGE", message)
            body = b""  # an oversized error body only loses its message
        content_type = response.headers.get("content-type", "")
        return _Reply(response.status_code, content_type, body)

    def _check_status(self, reply: _Reply) -> None:
        if 200 <= reply.status < 300:
            return
        if reply.status in (401, 403):
            raise MoonrakerError("AUTH_FAILED", self._auth_message(reply.status))
        text = f"Moonraker answered HTTP {reply.status}"
        if 300 <= reply.status < 400:
            text += " (a redirect, not followed: check the printer's URL)"
        elif detail := _moonraker_message(reply.body):
            text += f": {detail}"
        raise MoonrakerError("HTTP_ERROR", self._safe(text))

    def _auth_message(self, status: int) -> str:
        if self._api_key:
            return f"the printer rejected its API key (HTTP {status})"
        return f"the printer requires an API key (HTTP {status})"

    def _timeout_message(self, exc: httpx.TimeoutException) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection to {self._where} within {self._options.connect_timeout:g} s"
        if isinstance(exc, httpx.PoolTimeout):
            return f"no free connection to {self._where} within {self._options.connect_timeout:g} s"
        return f"{self._where} did not answer within {self._options.read_timeout:g} s"

    def _safe(self, text: str) -> str:
        """One short line without the API key (replaced before cutting, so no
        prefix of the key can survive the cut)."""
        line = " ".join(text.split())
        if self._api_key:
            line = line.replace(self._api_key, "***")
        return line[:MESSAGE_CHARS]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One context for every client: httpx otherwise loads the CA bundle again for each
    new client, and a sync opens a client per printer."""
    return httpx.create_ssl_context(trust_env=False)


async def _read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    # Counting decoded bytes also stops a small gzip body that inflates hugely.
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _json_result(body: bytes) -> Any:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MoonrakerError("BAD_RESPONSE", "Moonraker's answer is not valid JSON") from exc
    if not isinstance(document, dict) or "result" not in document:
        raise MoonrakerError("BAD_RESPONSE", "Moonraker's answer has no 'result'")
    return document["result"]


def _reject_html(reply: _Reply) -> None:
    if "html" in reply.content_type.lower():
        message = "the printer answered with an HTML page: is the URL Moonraker's?"
        raise MoonrakerError("BAD_RESPONSE", message)


def _expect_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MoonrakerError("BAD_RESPONSE", f"Moonraker's {what} is not an object")
    return value


def _moonraker_error(body: bytes) -> dict[str, Any] | None:
    """Moonraker's `{"error": {code, message, traceback}}`, if that is the body."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, dict) else None


def _moonraker_message(body: bytes) -> str | None:
    """Moonraker's one-line message; "Unknown" (its stand-in for any text
    containing '<') says nothing, and the traceback is never read."""
    error = _moonraker_error(body)
    message = error.get("message") if error else None
    if not isinstance(message, str) or not message.strip():
        return None
    first_line = message.strip().splitlines()[0]
    return None if first_line == "Unknown" else first_line


def _is_missing(reply: _Reply) -> bool:
    """A 404 from Moonraker itself. A 404 page from a web UI or proxy in front
    of it means a wrong URL, which must not pass for "file gone"."""
    return reply.status == 404 and _moonraker_error(reply.body) is not None


def _gcode_path(filename: str) -> str | None:
    if any(segment in ("", ".", "..") for segment in filename.split("/")):
        return None
    return "/server/files/gcodes/" + quote(filename, safe="/")


def _host_port(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{host}:{port}"


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:100] if lines else type(exc).__name__
