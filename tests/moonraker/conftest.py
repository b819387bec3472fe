"""A fake Moonraker on 127.0.0.1 that answers with the recorded samples.

A real socket server (not a mock transport) so timeouts, streaming, redirects
and Content-Length handling go through httpx exactly as against a printer.
"""

import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"
SAMPLES = FIXTURES / "moonraker"
GCODES = FIXTURES / "gcode"
JSON_TYPE = "application/json; charset=UTF-8"
CHUNK_BYTES = 4096


def load_sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False  # no Content-Length: the client must count while streaming
    declared_length: int | None = None  # a Content-Length that need not be true


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the server received it."""

    path: str  # still percent-encoded
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased


def _sample_reply(name: str) -> Reply:
    document = load_sample(name)
    status = document["error"]["code"] if "error" in document else 200
    return Reply(status=status, body=json.dumps(document).encode())


def _result_reply(result: Any) -> Reply:
    return Reply(body=json.dumps({"result": result}).encode())


class FakeMoonraker:
    """Answers as the recorded Moonraker did, unless a test scripted the next answers."""

    def __init__(self) -> None:
        self.url = ""
        self.api_key: str | None = None
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._scripted: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._jobs = _recorded_jobs()
        self._metadata = _recorded_metadata()

    def respond(self, path: str, *, times: int = 1, **reply: Any) -> None:
        """Answer the next `times` requests for `path` (decoded) with this reply."""
        with self._lock:
            self._scripted.setdefault(path, deque()).extend([Reply(**reply)] * times)

    def reply_to(self, raw_path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        path = unquote(raw_path)
        with self._lock:
            self.seen.append(Seen(raw_path, query, headers))
            scripted = self._scripted.get(path)
            if scripted:
                return scripted.popleft()
        return self._auth_failure(headers) or self._recorded(path, query, headers)

    def _auth_failure(self, headers: dict[str, str]) -> Reply | None:
        key = headers.get("x-api-key")
        if self.api_key is None or key == self.api_key:
            return None
        name = "error_auth_missing_api_key.json" if key is None else "error_auth_wrong_api_key.json"
        return _sample_reply(name)

    def _recorded(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path.startswith("/server/files/gcodes/"):
            return _gcode_reply(path.removeprefix("/server/files/gcodes/"), headers.get("range"))
        fixed = {
            "/server/info": "server_info.json",
            "/server/history/totals": "history_totals.json",
        }
        if path in fixed:
            return _sample_reply(fixed[path])
        if path == "/server/history/list":
            return self._history_page(query)
        if path == "/server/history/job":
            return self._history_job(query.get("uid", ""))
        if path == "/server/files/metadata":
            return self._file_metadata(query.get("filename"))
        return Reply(status=404, body=b'{"error": {"code": 404, "message": "Not Found"}}')

    def _history_page(self, query: dict[str, str]) -> Reply:
        order = query.get("order", "desc")
        jobs = sorted(self._jobs.values(), key=lambda job: job["job_id"], reverse=order == "desc")
        since = float(query.get("since", "-inf"))
        jobs = [job for job in jobs if job["start_time"] > since]
        start = int(query.get("start", "0"))
        page = jobs[start : start + int(query.get("limit", "50"))]
        return _result_reply({"count": len(page), "jobs": page})

    def _history_job(self, uid: str) -> Reply:
        try:
            int(uid, 16)
        except ValueError:
            return _sample_reply("error_history_job_non_hex_uid.json")
        job = self._jobs.get(uid.upper())
        if job is None:
            return _sample_reply("error_history_job_unknown_uid.json")
        return _result_reply({"job": job})

    def _file_metadata(self, filename: str | None) -> Reply:
        if filename is None:
            return _sample_reply("error_files_metadata_missing_filename.json")
        metadata = self._metadata.get(filename)
        if metadata is None:
            return _sample_reply("error_files_metadata_unknown_file.json")
        return _result_reply(metadata)


def _recorded_jobs() -> dict[str, dict[str, Any]]:
    jobs = load_sample("history_list_default.json")["result"]["jobs"]
    for name in ("completed_exists", "empty_metadata", "interrupted", "older_file_version"):
        jobs.append(load_sample(f"history_job_{name}.json")["result"]["job"])
    return {job["job_id"]: job for job in jobs}


def _recorded_metadata() -> dict[str, dict[str, Any]]:
    documents = (load_sample(path.name) for path in SAMPLES.glob("files_metadata_*.json"))
    return {document["result"]["filename"]: document["result"] for document in documents}


def _gcode_reply(filename: str, range_header: str | None) -> Reply:
    path = (GCODES / filename).resolve()
    if not path.is_file() or GCODES.resolve() not in path.parents:
        return Reply(status=404, body=b'{"error": {"code": 404, "message": "Not Found"}}')
    content = path.read_bytes()
    if range_header is None or not range_header.startswith("bytes=-"):
        return Reply(body=content, content_type="text/plain")
    tail = content[-int(range_header.removeprefix("bytes=-")) :]
    first = len(content) - len(tail)
    content_range = f"bytes {first}-{len(content) - 1}/{len(content)}"
    headers = {"Content-Range": content_range}
    return Reply(status=206, body=tail, content_type="text/plain", headers=headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeMoonraker) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle kept-alive connection frees its thread after 5 s
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK wait
    server: _Server

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(split.query).items()}
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.fake.reply_to(split.path, query, headers)
        try:
            self._send(reply)
        except OSError:  # the client gave up first (timeout, body too large)
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        if reply.delay and self.server.fake.stopping.wait(reply.delay):
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunked:
            self._send_chunked(reply.body)
            return
        self.send_header("Content-Length", str(reply.declared_length or len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        self.close_connection = reply.declared_length is not None

    def _send_chunked(self, body: bytes) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), CHUNK_BYTES):
            piece = body[start : start + CHUNK_BYTES]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest's output for failures."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sample() -> Callable[[str], Any]:
    return load_sample


@pytest.fixture
def fake_moonraker() -> Iterator[FakeMoonraker]:
    fake = FakeMoonraker()
    server = _Server(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.005})
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released by us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
