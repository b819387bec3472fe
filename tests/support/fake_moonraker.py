"""A faithful, controllable fake of Moonraker's history and file API, served over real HTTP.

Tests and benchmarks run it on 127.0.0.1 so the importer meets Moonraker's real semantics
(OFFSET paging, ids reused after a history reset, `before` silently dropping unfinished
jobs, 401 bodies, Range requests) and the faults a printer on a LAN produces. Behaviour is
copied from Moonraker 0.11.0 (components/history.py, file_manager.py, application.py) and
checked against the responses recorded in fixtures/moonraker/ by tests/test_fake_moonraker.py.

The one fake for every test and benchmark: a printer can hold the recorded history and files
(`add_recorded_printer`, what the client tests replay), generated jobs (`add_jobs`, for sync
tests and benches), injected faults (`fault`), or exact scripted bytes (`respond`, for the
client's parsing and limits). Every request is logged as received (`requests`).

No pytest import here: bench/ scripts use this module too.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import ipaddress
import json
import math
import random
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from tests.support.fake_moonraker_ws import FakeWebsocket, websocket_endpoint
from tests.support.live_server import LiveServer

Job = dict[str, Any]
Metadata = dict[str, Any]
AuxItem = dict[str, Any]
Query = dict[str, str]
InjectedKind = Literal["malformed_json", "html", "oversized", "redirect", "delay", "status"]
FaultKind = InjectedKind | Literal["reply"]  # "reply": the exact bytes of a respond() call

# A fake listens on 127.0.0.1, which the default address rule refuses: tests and benches
# allow it the way an operator would (GQL_MOONRAKER_ALLOWED_NETWORKS).
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)

FIXTURES = Path(__file__).parent.parent / "fixtures"
SAMPLES = FIXTURES / "moonraker"
GCODES = FIXTURES / "gcode"
JSON_TYPE = "application/json; charset=UTF-8"
UNFINISHED = ("in_progress", "interrupted")
# Moonraker stores these in the file's metadata when a print starts; a job's own copy drops them.
PRINT_KEYS = ("print_start_time", "job_id")
DEFAULT_FILENAME = "3DBenchy_0.15mm_PLA_1h22m.gcode"
SINCE_BEFORE = "history_list_since_before.json"
# Start of the recorded history (job 000002 started at 1762534883); empty fakes start here.
BASE_TIME = 1_762_530_000.0
# Weights of the statuses add_jobs draws; interrupted jobs are the only ones with end_time null.
STATUS_WEIGHTS = {
    "completed": 70,
    "cancelled": 15,
    "error": 6,
    "klippy_shutdown": 3,
    "klippy_disconnect": 2,
    "server_exit": 2,
    "interrupted": 2,
}
# Names the recorded history lacks: non-ASCII, spaces and subfolders all at once.
EXTRA_FILENAMES = (
    "Halterung für Kabelkanal.gcode",
    "voron/Lüfterabdeckung ABS 0.2mm.gcode",
    "日本語/ケース_PLA.gcode",
    "pièces détachées/support café Ø20.gcode",
)


# ---------------------------------------------------------------------------- samples


@functools.cache
def _sample_text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def load_sample(name: str) -> Any:
    """A fresh copy of a recorded response body (fixtures/moonraker/NAME), safe to mutate."""
    return json.loads(_sample_text(name))


def recorded_jobs() -> dict[int, Job]:
    """Every job the samples show, by row id, without `exists` (that is computed per request)."""
    jobs: dict[int, Job] = {}
    for path in sorted(SAMPLES.glob("history_*.json")):
        result = load_sample(path.name)["result"]
        for job in result.get("jobs", [result.get("job")]):
            if job is not None:
                rowid = int(job["job_id"], 16)
                job.pop("exists")
                jobs.setdefault(rowid, {**job, "job_id": f"{rowid:06X}"})
    return jobs


def sample_file_metadata() -> dict[str, Metadata]:
    """The files_metadata_*.json results by filename, without the per-request `filename` key."""
    files: dict[str, Metadata] = {}
    for path in sorted(SAMPLES.glob("files_metadata_*.json")):
        metadata = load_sample(path.name)["result"]
        files[metadata.pop("filename")] = metadata
    return files


# ---------------------------------------------------------------------------- errors


class MoonrakerError(Exception):
    """An error Moonraker answers with `{"error": {code, message, traceback}}`."""

    def __init__(self, status: int, text: str, last_line: str | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.last_line = last_line or f"tornado.web.HTTPError: HTTP {status}: {text}"

    def body(self) -> dict[str, Any]:
        """Tornado refuses a reason containing '<', so `message` is then "Unknown" and the
        real text survives only in the traceback's last line (see the recorded 404/400s)."""
        message = "Unknown" if "<" in self.text else self.text
        traceback = (
            "Traceback (most recent call last):\n\n"
            '  File "/opt/moonraker/lib/python3.11/site-packages/moonraker/components/'
            'application.py", line 714, in _process_http_request\n'
            "    result = await self.api_defintion.request(\n\n"
            f"{self.last_line}\n"
        )
        return {"error": {"code": self.status, "message": message, "traceback": traceback}}


def json_response(data: Any, status: int = 200) -> Response:
    """JSON the way Moonraker sends it (UTF-8, not ASCII-escaped, its exact content type)."""
    body = json.dumps(data, ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type=JSON_TYPE)


def error_response(error: MoonrakerError) -> Response:
    return json_response(error.body(), error.status)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# ---------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the fake received it, before any fault or auth check."""

    method: str
    path: str  # decoded, as Moonraker routes it
    raw_path: str  # still percent-encoded, as the client sent it
    query: Query  # Tornado's reading: the last value of a key, whitespace stripped
    headers: dict[str, str]  # names lower-cased


# ---------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class Reply:
    """Exact bytes a test scripts with FakeMoonraker.respond, for what no real Moonraker
    sends but a proxy, another web app or a broken printer might."""

    status: int = 200
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False  # no Content-Length: the client must count while streaming
    declared_length: int | None = None  # a Content-Length that need not be true


@dataclass
class Fault:
    """One injected misbehaviour, for requests whose path starts with `path` (or is `path`,
    when `exact`).

    Fires on every matching request, or only on the `nth` one (1-based), at most `times`
    times. `list_start` narrows it to /server/history/list pages with that `start` offset.
    """

    kind: FaultKind
    path: str = "/"
    nth: int | None = None
    times: int | None = None
    status: int | None = None
    size: int = 1_000_000
    chunked: bool = False
    location: str = "/server/info"
    seconds: float = 5.0
    list_start: int | None = None
    exact: bool = False
    reply: Reply | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, path: str, query: Query) -> bool:
        if path != self.path and (self.exact or not path.startswith(self.path)):
            return False
        return self.list_start is None or _start_offset(query) == self.list_start

    def due(self) -> bool:
        if self.nth is not None and self.seen != self.nth:
            return False
        return self.times is None or self.fired < self.times


def _start_offset(query: Query) -> int | None:
    try:
        return int(query.get("start", "0"))
    except ValueError:
        return None


HTML_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# A list page cut mid-object, as a connection dropped by a proxy leaves it.
TRUNCATED_JSON = b'{"result": {"count": 50, "jobs": [{"job_id": "0000C8", "user": "No Us'


def fault_response(fault: Fault) -> Response:
    """The response standing in for Moonraker's when `fault` fires (all kinds but delay)."""
    if fault.kind == "malformed_json":
        return Response(TRUNCATED_JSON, fault.status or 200, media_type=JSON_TYPE)
    if fault.kind == "html":
        status = fault.status or 502
        page = HTML_PAGE.format(status=status, reason=_reason(status))
        return Response(page, status, media_type="text/html")
    if fault.kind == "oversized":
        return _oversized(fault)
    if fault.kind == "redirect":
        return RedirectResponse(fault.location, status_code=fault.status or 302)
    status = fault.status or 500
    return error_response(MoonrakerError(status, _reason(status)))


def _oversized(fault: Fault) -> Response:
    headers = None if fault.chunked else {"content-length": str(fault.size)}
    return StreamingResponse(
        _padded_json(fault.size), fault.status or 200, headers=headers, media_type=JSON_TYPE
    )


async def _padded_json(size: int) -> AsyncIterator[bytes]:
    """Valid JSON of exactly `size` bytes (when size allows), streamed in 64 KiB chunks so a
    client must enforce its own limit rather than fail on parsing."""
    head, tail = b'{"result": {"count": 0, "jobs": []}, "padding": "', b'"}'
    pad = size - len(head) - len(tail)
    if pad < 0:
        yield b" " * size
        return
    yield head
    while pad > 0:
        chunk = min(pad, 65536)
        yield b"x" * chunk
        pad -= chunk
    yield tail


class ScriptedResponse(Response):
    """A Reply sent as scripted, Content-Length lies and chunking included."""

    def __init__(self, reply: Reply, stopping: threading.Event) -> None:
        self.reply, self.stopping = reply, stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply = self.reply
        await _sleep_unless_stopping(reply.delay, self.stopping)
        if reply.declared_length is not None:
            await self._send_short(scope, receive, send)
            return
        headers = {"content-type": reply.content_type, **reply.headers}
        if reply.chunked:
            response: Response = StreamingResponse(_chunks(reply.body), reply.status, headers)
        else:
            response = Response(reply.body, reply.status, headers)
        await response(scope, receive, send)

    async def _send_short(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Declare `declared_length` bytes, send the body, then wait for the client to hang
        up: returning first would make uvicorn log an incomplete response."""
        reply = self.reply
        headers = {"content-type": reply.content_type, **reply.headers}
        headers["content-length"] = str(reply.declared_length)
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        await send({"type": "http.response.body", "body": reply.body, "more_body": True})
        await _wait_for_disconnect(receive, self.stopping, limit=10.0)


async def _chunks(body: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def _wait_for_disconnect(receive: Receive, stopping: threading.Event, limit: float) -> None:
    """Until the client disconnects, the server stops, or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while not stopping.is_set() and time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(receive(), 0.05)
        except TimeoutError:
            continue
        if message["type"] == "http.disconnect":
            return


async def _sleep_unless_stopping(seconds: float, stopping: threading.Event) -> None:
    """Sleep without blocking the event loop, cut short when the server stops (else uvicorn's
    graceful shutdown would wait out a 30 s delay)."""
    deadline = time.monotonic() + seconds
    while not stopping.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.05))


# ---------------------------------------------------------------------------- generation


def _aux_data(total_duration: float, *, power: float = 140.0, spool_id: int = 1) -> list[AuxItem]:
    """auxiliary_data shaped like the recorded jobs' (power sensor + Spoolman)."""
    energy = round(power * total_duration / 3_600_000, 6)
    sensor = "sensor printer_power"
    return [
        _aux(sensor, "energy_consumption", energy, "Printer energy consumption", "kWh"),
        _aux(sensor, "average_power", power, "Average power draw", "W"),
        _aux("spoolman", "spool_ids", [spool_id], "Spool IDs used", None),
    ]


def _aux(provider: str, name: str, value: Any, description: str, units: str | None) -> AuxItem:
    return {"provider": provider, "name": name, "value": value, "description": description,
            "units": units}  # fmt: skip


def _zero_totals() -> dict[str, Any]:
    """Totals after reset_totals; total_jobs is a float as Moonraker's REAL column gives it."""
    job_totals = dict.fromkeys(
        ("total_jobs", "total_time", "total_print_time", "total_filament_used",
         "longest_job", "longest_print"),
        0.0,
    )  # fmt: skip
    aux = [
        {"provider": "sensor printer_power", "field": "energy_consumption", "maximum": 0.0,
         "total": 0.0},
        {"provider": "sensor printer_power", "field": "average_power", "maximum": 0.0,
         "total": None},
    ]  # fmt: skip
    return {"job_totals": job_totals, "auxiliary_totals": aux}


def _pick_file(rng: random.Random, template: Job) -> tuple[str, Metadata]:
    """Template's file, sometimes renamed (non-ASCII) or with the thin metadata Moonraker
    stores for files it could not parse ({} or only size/modified)."""
    filename, metadata = template["filename"], copy.deepcopy(template["metadata"])
    roll = rng.random()
    if roll < 0.10:
        filename = rng.choice(EXTRA_FILENAMES)
    elif roll < 0.13:
        metadata = {}
    elif roll < 0.16:
        metadata = {key: metadata[key] for key in ("size", "modified") if key in metadata}
    return filename, metadata


def _durations(rng: random.Random, template: Job, status: str) -> tuple[float, float, float]:
    """(total_duration, print_duration, filament_used) for a job like `template`."""
    if status in UNFINISHED:
        return round(rng.uniform(0.05, 5.0), 6), 0.0, 0.0
    metadata = template["metadata"]
    estimate = float(metadata.get("estimated_time") or 0)
    base = max(template["total_duration"], estimate * 1.1, 300.0)
    share = rng.uniform(0.9, 1.15) if status == "completed" else rng.uniform(0.02, 0.8)
    total = base * share
    printed = total * rng.uniform(0.75, 0.97)
    rate = metadata.get("filament_total", 0) / estimate if estimate else 1.2
    return round(total, 6), round(printed, 6), round(printed * rate, 6)


def generated_job(
    rng: random.Random, template: Job, start_time: float, *, status: str | None = None
) -> dict[str, Any]:
    """add_job keyword arguments for a realistic job modelled on a recorded one."""
    if status is None:
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    filename, metadata = _pick_file(rng, template)
    total, printed, filament = _durations(rng, template, status)
    power = 0 if status in UNFINISHED else round(rng.uniform(120.0, 310.0), 1)
    return {
        "filename": filename,
        "status": status,
        "user": template["user"],
        "start_time": round(start_time, 6),
        "print_duration": printed,
        "total_duration": total,
        "filament_used": filament,
        "metadata": metadata,
        "auxiliary_data": _aux_data(total, power=power, spool_id=rng.randint(1, 15)),
    }


def placeholder_gcode(metadata: Metadata) -> bytes:
    """A small gcode file of exactly metadata["size"] bytes whose tail carries the slicer
    settings the importer reads with a Range request (infill, supports, speed)."""
    slicer = f"{metadata.get('slicer', 'Unknown')} {metadata.get('slicer_version', '')}".strip()
    head = f"; generated by {slicer}\nG28\nG1 Z0.3 F3000\n".encode()
    tail = (
        f"; filament used [mm] = {metadata.get('filament_total', 0.0):.2f}\n"
        f"; estimated printing time (normal mode) = {metadata.get('estimated_time', 0)}s\n"
        "; prusaslicer_config = begin\n; fill_density = 15%\n; support_material = 0\n"
        f"; perimeter_speed = 45\n; layer_height = {metadata.get('layer_height', 0.2)}\n"
        "; prusaslicer_config = end\n"
    ).encode()
    size = int(metadata.get("size") or len(head) + len(tail) + 200)
    body = b"G1 X10 Y10 E0.5\n" * max(0, (size - len(head) - len(tail)) // 16 + 1)
    return (head + body)[: max(0, size - len(tail))] + tail


def _fixture_gcode(filename: str) -> bytes | None:
    """The gcode recorded for a sample file, if fixtures/gcode/ holds it."""
    for candidate in (GCODES / filename, GCODES / Path(filename).name):
        if candidate.is_file():
            return candidate.read_bytes()
    return None


# ---------------------------------------------------------------------------- state


class FakeMoonraker:
    """A printer's Moonraker state: history rows, gcode files, totals, auth and faults.

    Thread-safe: the server thread answers requests while tests mutate the state.
    `jobs` stays ordered by row id (ids only grow between resets, as SQLite hands them out).
    """

    def __init__(self, *, api_key: str | None = None, trusted: bool = False) -> None:
        self._lock = threading.RLock()
        self._auth = (api_key, trusted)
        self.requests_lock = threading.Lock()
        self.stopping = threading.Event()
        self.url = ""  # set by FakeMoonrakerServer once it listens
        self.server_info: dict[str, Any] = load_sample("server_info.json")["result"]
        self.api_key = api_key
        self.trusted = trusted
        self.jobs: list[Job] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.totals: dict[str, Any] = _zero_totals()
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        # /websocket: Klippy's state, subscriptions and notifications (fake_moonraker_ws.py).
        self.websocket = FakeWebsocket(self)

    def reset(self) -> None:
        """Back to the printer as constructed: no jobs, files, totals, faults or log, and
        no websocket (each is closed)."""
        with self._lock:
            self.api_key, self.trusted = self._auth
            self.jobs, self.files, self.faults = [], {}, []
            self.totals = _zero_totals()
        self.clear_requests()
        self.websocket.reset()

    # -- history rows

    @property
    def next_rowid(self) -> int:
        """SQLite's rowid for the next insert: max(rowid) + 1, so 1 on an empty table, and
        the newest job's id is handed out again if that job is deleted."""
        with self._lock:
            return int(self.jobs[-1]["job_id"], 16) + 1 if self.jobs else 1

    def add_job(
        self,
        *,
        filename: str = DEFAULT_FILENAME,
        status: str = "completed",
        user: str = "No User",
        start_time: float | None = None,
        end_time: float | None = None,
        print_duration: float | None = None,
        total_duration: float | None = None,
        filament_used: float | None = None,
        metadata: Metadata | None = None,
        auxiliary_data: list[AuxItem] | None = None,
    ) -> Job:
        """Insert a job as Moonraker does at print start (and at its end, for a finished status).

        Unset fields get plausible values; end_time stays null for in_progress/interrupted.
        metadata defaults to the file's stored metadata (or {}), and the file's metadata then
        records this job's print_start_time and job_id. An in_progress job is a print
        starting: websocket clients get ``notify_history_changed`` "added"; a job inserted
        finished is history from before anyone listened, and notifies nobody.
        """
        unfinished = status in UNFINISHED
        total = _given(total_duration, 0.0 if unfinished else 3600.0)
        with self._lock:
            start = _given(start_time, self._next_start_time())
            job: Job = {
                "job_id": f"{self.next_rowid:06X}",
                "user": user,
                "filename": filename,
                "status": status,
                "start_time": start,
                "end_time": end_time if end_time is not None or unfinished else start + total,
                "print_duration": _given(print_duration, 0.0 if unfinished else total * 0.9),
                "total_duration": total,
                "filament_used": _given(filament_used, 0.0 if unfinished else 1000.0),
                "metadata": self._job_metadata(filename) if metadata is None else metadata,
                "auxiliary_data": _given(
                    auxiliary_data, _aux_data(total, power=0.0 if unfinished else 140.0)
                ),
            }
            job = copy.deepcopy(job)
            self.jobs.append(job)
            self._record_print(job)
            if not unfinished:
                self._count_in_totals(job)
            added = copy.deepcopy(job)
        if status == "in_progress":
            self.websocket.history_changed("added", added)
        return copy.deepcopy(added)

    def add_jobs(self, n: int, *, seed: int = 0, start_time: float | None = None) -> list[Job]:
        """Append n varied, realistic jobs modelled on the recorded ones, deterministic per seed.

        Starts follow each other by 1 min to 2 h; statuses mix as STATUS_WEIGHTS says.
        """
        rng = random.Random(seed)
        templates = list(recorded_jobs().values())
        offset = rng.randrange(len(templates))
        added: list[Job] = []
        start = start_time if start_time is not None else self._next_start_time()
        for i in range(n):
            template = templates[(offset + i) % len(templates)]
            job = self.add_job(**generated_job(rng, template, start))
            start = job["start_time"] + job["total_duration"] + rng.uniform(60.0, 7200.0)
            added.append(job)
        return added

    def finish_job(
        self,
        job_id: str,
        status: str = "completed",
        *,
        end_time: float | None = None,
        print_duration: float | None = None,
        total_duration: float | None = None,
        filament_used: float | None = None,
        auxiliary_data: list[AuxItem] | None = None,
    ) -> Job:
        """Rewrite an in_progress job at its end, as Moonraker does: same id, end_time,
        durations, status, metadata re-read from the file, and the totals counted;
        websocket clients get ``notify_history_changed`` "finished"."""
        with self._lock:
            job = self._row(job_id)
            if job is None or job["status"] != "in_progress":
                raise ValueError(f"no in_progress job {job_id}")
            elapsed = None if end_time is None else end_time - job["start_time"]
            total = _given(total_duration, _given(elapsed, 3600.0))
            job.update(
                status=status,
                end_time=_given(end_time, job["start_time"] + total),
                total_duration=total,
                print_duration=_given(print_duration, total * 0.9),
                filament_used=_given(filament_used, 1000.0),
                auxiliary_data=copy.deepcopy(_given(auxiliary_data, _aux_data(total))),
            )
            if job["filename"] in self.files:
                job["metadata"] = self._job_metadata(job["filename"])
            if status != "interrupted":
                self._count_in_totals(job)
            finished = copy.deepcopy(job)
        self.websocket.history_changed("finished", finished)
        return copy.deepcopy(finished)

    def restart(self) -> list[str]:
        """Moonraker restarting: every in_progress job becomes interrupted (end_time stays
        null, totals untouched), and every websocket closed. Returns the ids rewritten."""
        self.websocket.drop_connections()
        with self._lock:
            running = [job for job in self.jobs if job["status"] == "in_progress"]
            for job in running:
                job["status"] = "interrupted"
            return [job["job_id"] for job in running]

    def delete_job(self, job_id: str) -> None:
        """Delete one row; the totals keep counting it."""
        with self._lock:
            job = self._row(job_id)
            if job is None:
                raise KeyError(job_id)
            self.jobs.remove(job)

    def reset_history(self) -> None:
        """The user clearing the history: no rows, so ids restart at 000001 (totals kept)."""
        with self._lock:
            self.jobs = []

    def reset_totals(self) -> None:
        """POST /server/history/reset_totals: totals back to zero, history kept."""
        with self._lock:
            self.totals = _zero_totals()

    def add_recorded_printer(self) -> None:
        """The printer the samples were recorded from, as far as it can be rebuilt: its
        files, its 200-job history and the totals it reported (which also count jobs
        deleted before the recording, so they cannot be derived from the history)."""
        self.add_sample_files()
        self.add_recorded_history()
        with self._lock:
            self.totals = load_sample("history_totals.json")["result"]

    def add_recorded_history(self) -> None:
        """Rebuild the 200-job history the samples were recorded from.

        Recorded jobs go in verbatim at their ids; ids no sample shows get generated jobs
        timed between their neighbours, so that the recorded since/before query still
        returns exactly its recorded page (0x46, absent from it, becomes interrupted).
        """
        known = recorded_jobs()
        if self.jobs:
            raise ValueError("add_recorded_history needs an empty history")
        window = load_sample(SINCE_BEFORE)["result"]["jobs"]
        window_ids = [int(job["job_id"], 16) for job in window]
        recorded = next(e for e in load_sample("index.json") if e["file"] == SINCE_BEFORE)
        rng = random.Random(0x200)
        for rowid in range(1, max(known) + 1):
            if rowid in known:
                self.add_job(**{k: v for k, v in known[rowid].items() if k != "job_id"})
                continue
            fields = self._gap_job(rng, known, rowid, after=recorded["query"]["before"])
            if window_ids[0] < rowid < window_ids[-1]:
                fields.update(status="interrupted", print_duration=0.0, filament_used=0.0)
            self.add_job(**fields)

    def _gap_job(
        self, rng: random.Random, known: dict[int, Job], rowid: int, *, after: float
    ) -> dict[str, Any]:
        """A generated job fitting between the recorded jobs around `rowid`."""
        lower = max((k for k in known if k < rowid), default=None)
        upper = min(k for k in known if k > rowid)
        upper_start = known[upper]["start_time"]
        if lower is None:
            lo, first = upper_start - 7200.0 * upper, 0
        else:
            lo, first = _end(known[lower]), lower
            if lo < after < upper_start:
                lo = after  # after the recorded window, so `before` must drop the job
        slot = (upper_start - lo) / (upper - first)
        start = lo + slot * (rowid - first - 1) + slot * 0.1
        fields = generated_job(rng, known[upper], start, status="completed")
        fields.update(total_duration=round(slot * 0.5, 6), print_duration=round(slot * 0.45, 6))
        return fields

    # -- files

    def add_file(
        self,
        filename: str,
        *,
        metadata: Metadata | None = None,
        gcode: bytes | None = None,
        modified: float | None = None,
    ) -> None:
        """Put a gcode file on the printer (replacing any file of that name)."""
        metadata = copy.deepcopy(metadata) if metadata is not None else {
            "size": len(gcode) if gcode is not None else 1024,
            "modified": modified if modified is not None else round(time.time(), 6),
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, filename)),
            "file_processors": [],
            "slicer": "Unknown",
            "slicer_version": "?",
        }  # fmt: skip
        if modified is not None:
            metadata["modified"] = modified
        with self._lock:
            self.files[filename] = {
                "metadata": metadata,
                "gcode": gcode if gcode is not None else placeholder_gcode(metadata),
            }

    def add_sample_files(self) -> None:
        """The five recorded files (files_list_gcodes.json) with their recorded metadata;
        gcode from fixtures/gcode/ when present, else a placeholder of the recorded size."""
        for filename, metadata in sample_file_metadata().items():
            gcode = _fixture_gcode(filename) or placeholder_gcode(metadata)
            self.add_file(filename, metadata=metadata, gcode=gcode)

    def touch_file(self, filename: str, *, modified: float) -> None:
        """Re-slice a file in place: new mtime (older jobs stop `exists`), and the metadata
        re-parsed, which drops the last print's print_start_time/job_id."""
        with self._lock:
            metadata = self.files[filename]["metadata"]
            metadata["modified"] = modified
            for key in PRINT_KEYS:
                metadata.pop(key, None)

    def remove_file(self, filename: str) -> None:
        with self._lock:
            del self.files[filename]

    # -- faults

    def fault(
        self,
        kind: InjectedKind,
        *,
        path: str = "/",
        nth: int | None = None,
        times: int | None = None,
        status: int | None = None,
        size: int = 1_000_000,
        chunked: bool = False,
        location: str = "/server/info",
        seconds: float = 5.0,
    ) -> Fault:
        """Misbehave on requests under `path` (every one, or only the nth, at most `times`).

        malformed_json: 200 with truncated JSON · html: nginx page, status 502 (or 200) ·
        oversized: `size` bytes of valid JSON, with Content-Length or `chunked` ·
        redirect: 302 to `location` · delay: answer normally after `seconds` ·
        status: `status` (default 500) with Moonraker's error body.
        """
        fault = Fault(
            kind=kind, path=path, nth=nth, times=times, status=status, size=size,
            chunked=chunked, location=location, seconds=seconds,
        )  # fmt: skip
        with self._lock:
            self.faults.append(fault)
        return fault

    def fail_list_page(self, start: int, status: int = 500, times: int = 1) -> Fault:
        """Fail /server/history/list requests whose `start` offset is `start` (0 if absent)."""
        fault = Fault(
            kind="status", path="/server/history/list", times=times, status=status,
            list_start=start,
        )  # fmt: skip
        with self._lock:
            self.faults.append(fault)
        return fault

    def respond(self, path: str, *, times: int = 1, **reply: Any) -> Fault:
        """Answer the next `times` requests for exactly `path` (decoded) with these bytes,
        before auth (see Reply for the options)."""
        fault = Fault(kind="reply", path=path, exact=True, times=times, reply=Reply(**reply))
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = []

    # -- request log

    def clear_requests(self) -> None:
        with self.requests_lock:
            self.requests = []

    def requests_to(self, path: str) -> list[Query]:
        """The query of every logged request to `path`, oldest first."""
        with self.requests_lock:
            return [seen.query for seen in self.requests if seen.path == path]

    # -- used by the HTTP layer

    def log_request(self, seen: Seen) -> None:
        with self.requests_lock:
            self.requests.append(seen)

    def take_fault(self, path: str, query: Query) -> Fault | None:
        """The first fault due for this request; every matching fault counts it."""
        chosen = None
        with self._lock:
            for fault in self.faults:
                if fault.matches(path, query):
                    fault.seen += 1
                    if chosen is None and fault.due():
                        fault.fired += 1
                        chosen = fault
        return chosen

    def list_jobs(self, *, before: float, since: float, limit: int, start: int, desc: bool) -> Any:
        """history/list's SELECT: filters, ORDER BY job_id, LIMIT/OFFSET only when limit > 0."""
        with self._lock:
            rows = [job for job in self.jobs if _kept(job, before=before, since=since)]
            if desc:
                rows.reverse()
            if limit > 0:
                rows = rows[max(start, 0) : max(start, 0) + limit]
            return [self.public_job(job, job["job_id"]) for job in rows]

    def find_job(self, uid: str) -> Job | None:
        """history/job: `uid` parsed with int(uid, 16) and echoed back as given (so "0000c5"
        answers job_id "0000c5"). Raises ValueError for non-hex, like Moonraker's 500."""
        rowid = int(uid, 16)
        with self._lock:
            job = next((j for j in self.jobs if int(j["job_id"], 16) == rowid), None)
            return None if job is None else self.public_job(job, uid)

    def public_job(self, job: Job, job_id: str) -> Job:
        """The job as the API shows it: `job_id` as requested, `exists` appended."""
        shown = dict(job)  # rows' nested values are replaced, never mutated, once stored
        shown["job_id"] = job_id
        shown["exists"] = self.file_exists(job["filename"], job["metadata"].get("modified"))
        return shown

    def file_exists(self, filename: str, modified: float | None) -> bool:
        """FileManager.check_file_exists: on disk, and if the job knew the file's mtime,
        the same mtime (math.isclose); a job with metadata {} exists whenever the file does."""
        with self._lock:
            stored = self.files.get(filename)
            if stored is None:
                return False
            if modified is None:
                return True
            return math.isclose(stored["metadata"].get("modified", 0.0), modified)

    def file_metadata(self, filename: str) -> Metadata | None:
        with self._lock:
            stored = self.files.get(filename)
            return None if stored is None else copy.deepcopy(stored["metadata"])

    def file_gcode(self, filename: str) -> bytes | None:
        with self._lock:
            stored = self.files.get(filename)
            return None if stored is None else stored["gcode"]

    def totals_snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.totals)

    # -- internals

    def _row(self, job_id: str) -> Job | None:
        rowid = int(job_id, 16)
        return next((job for job in self.jobs if int(job["job_id"], 16) == rowid), None)

    def _next_start_time(self) -> float:
        if not self.jobs:
            return BASE_TIME
        return round(_end(self.jobs[-1]) + 600.0, 6)

    def _job_metadata(self, filename: str) -> Metadata:
        """History.grab_job_metadata: the stored metadata minus the last print's keys."""
        stored = self.files.get(filename)
        metadata = copy.deepcopy(stored["metadata"]) if stored else {}
        for key in PRINT_KEYS:
            metadata.pop(key, None)
        return metadata

    def _record_print(self, job: Job) -> None:
        """History.update_metadata: the file remembers its latest print."""
        stored = self.files.get(job["filename"])
        if stored:
            stored["metadata"].update(print_start_time=job["start_time"], job_id=job["job_id"])

    def _count_in_totals(self, job: Job) -> None:
        """History._update_job_totals, run when a job finishes (any status but interrupted)."""
        totals = self.totals["job_totals"]
        totals["total_jobs"] += 1.0
        totals["total_time"] += job["total_duration"]
        totals["total_print_time"] += job["print_duration"]
        totals["total_filament_used"] += job["filament_used"]
        totals["longest_job"] = max(totals["longest_job"], job["total_duration"])
        totals["longest_print"] = max(totals["longest_print"], job["print_duration"])
        for item in self.totals["auxiliary_totals"]:
            _count_aux(item, job["auxiliary_data"])


def _count_aux(item: dict[str, Any], aux_data: list[AuxItem]) -> None:
    for aux in aux_data:
        value = aux.get("value")
        same = (aux.get("provider"), aux.get("name")) == (item["provider"], item["field"])
        if same and isinstance(value, int | float):
            item["maximum"] = max(item["maximum"] or 0.0, value)
            if item["total"] is not None:
                item["total"] += value


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


def _end(job: Job) -> float:
    if job["end_time"] is not None:
        return float(job["end_time"])
    return float(job["start_time"] + job["total_duration"])


def _kept(job: Job, *, before: float, since: float) -> bool:
    """`end_time < ?` is NULL, hence false, for unfinished jobs: `before` drops them."""
    if before != -1 and (job["end_time"] is None or not job["end_time"] < before):
        return False
    return since == -1 or job["start_time"] > since


# ---------------------------------------------------------------------------- HTTP


def _query(request: Request) -> Query:
    """Tornado's get_argument: the last value of a repeated key, whitespace stripped."""
    return {key: value.strip() for key, value in request.query_params.items()}


def _get_str(query: Query, key: str) -> str:
    if key not in query:
        raise MoonrakerError(400, f"No data for argument: {key}")
    return query[key]


def _get_number(query: Query, key: str, default: Any, kind: type[int] | type[float]) -> Any:
    if key not in query:
        return default
    try:
        return kind(query[key])
    except ValueError:
        raise MoonrakerError(
            400, f"Unable to convert argument [{key}] to {kind}: value received: {query[key]}"
        ) from None


def server_info(fake: FakeMoonraker, request: Request) -> Response:
    return json_response({"result": fake.server_info})


def access_info(fake: FakeMoonraker, request: Request) -> Response:
    return json_response(load_sample("access_info.json"))


def history_list(fake: FakeMoonraker, request: Request) -> Response:
    """Arguments are read in Moonraker's order, so the first bad one names the error."""
    query = _query(request)
    before = _get_number(query, "before", -1.0, float)
    since = _get_number(query, "since", -1.0, float)
    limit = _get_number(query, "limit", 50, int)
    start = _get_number(query, "start", 0, int)
    order = query.get("order", "desc").upper()
    if order not in ("ASC", "DESC"):
        raise MoonrakerError(400, f"Invalid `order` value: {order}")
    desc = order == "DESC"
    jobs = fake.list_jobs(before=before, since=since, limit=limit, start=start, desc=desc)
    return json_response({"result": {"count": len(jobs), "jobs": jobs}})


def history_job(fake: FakeMoonraker, request: Request) -> Response:
    uid = _get_str(_query(request), "uid")
    try:
        job = fake.find_job(uid)
    except ValueError as error:
        raise MoonrakerError(500, "Internal Server Error", f"ValueError: {error}") from None
    if job is None:
        raise MoonrakerError(404, f"Invalid job uid: {uid}")
    return json_response({"result": {"job": job}})


def history_totals(fake: FakeMoonraker, request: Request) -> Response:
    return json_response({"result": fake.totals_snapshot()})


def files_list(fake: FakeMoonraker, request: Request) -> Response:
    with fake._lock:
        files = [
            {"path": name, "modified": stored["metadata"].get("modified"),
             "size": len(stored["gcode"]), "permissions": "rw"}
            for name, stored in sorted(fake.files.items())
        ]  # fmt: skip
    return json_response({"result": files})


def files_metadata(fake: FakeMoonraker, request: Request) -> Response:
    filename = _get_str(_query(request), "filename")
    metadata = fake.file_metadata(filename)
    if metadata is None:
        raise MoonrakerError(404, f"Metadata not available for <{filename}>")
    return json_response({"result": {**metadata, "filename": filename}})


def gcode_file(fake: FakeMoonraker, request: Request, filename: str) -> Response:
    """Tornado's StaticFileHandler as Moonraker's FileRequestHandler uses it."""
    data = fake.file_gcode(filename)
    if data is None:
        raise MoonrakerError(404, "Not Found")
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": _content_disposition(filename),
    }
    return _ranged(data, request.headers.get("range"), headers)


def _content_disposition(filename: str) -> str:
    base = filename.rsplit("/", 1)[-1]
    ascii_name = base.encode("ascii", "replace").decode().replace('"', '\\"')
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(base)}"


def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    """tornado.httputil._parse_request_range: (start, end-exclusive); a suffix range gives
    (-N, None); anything it cannot read (several ranges, other units) means no range."""
    if not header:
        return None
    unit, _, value = header.partition("=")
    if unit.strip() != "bytes":
        return None
    first, _, last = value.strip().partition("-")
    try:
        start = int(first) if first.strip() else None
        end = int(last) if last.strip() else None
    except ValueError:
        return None
    if end is not None:
        if start is None:
            if end != 0:
                start, end = -end, None
        else:
            end += 1
    return start, end


def _ranged(data: bytes, header: str | None, headers: dict[str, str]) -> Response:
    """206 only when less than the whole file is asked for (a suffix longer than the file
    is answered 200 with everything); 416 past the end or for `bytes=-0`."""
    size, requested = len(data), parse_range(header)
    if requested is None:
        return Response(data, 200, headers, media_type="application/octet-stream")
    start, end = requested
    if start is not None and start < 0:
        start = max(start + size, 0)
    if (start is not None and (start >= size or (end is not None and start >= end))) or end == 0:
        return Response(b"", 416, {"Content-Range": f"bytes */{size}"}, media_type="text/plain")
    end = size if end is None or end > size else end
    start = start or 0
    status = 200
    if size != end - start:
        status = 206
        headers = {**headers, "Content-Range": f"bytes {start}-{end - 1}/{size}"}
    return Response(data[start:end], status, headers, media_type="application/octet-stream")


Handler = Callable[[FakeMoonraker, Request], Response]
ENDPOINTS: dict[str, Handler] = {
    "/server/info": server_info,
    "/access/info": access_info,
    "/server/history/list": history_list,
    "/server/history/job": history_job,
    "/server/history/totals": history_totals,
    "/server/files/list": files_list,
    "/server/files/metadata": files_metadata,
}
GCODES_PREFIX = "/server/files/gcodes/"
OPEN_PATHS = ("/access/info",)


def auth_failure(fake: FakeMoonraker, request: Request) -> Response | None:
    """401 with the recorded body, or None when the request may pass. A trusted client may
    omit the key, but a wrong key is refused even then (error_trusted_wrong_api_key.json)."""
    if request.scope["path"] in OPEN_PATHS or (fake.api_key is None and not fake.trusted):
        return None
    key = request.headers.get("x-api-key")
    if key is None:
        if fake.trusted:
            return None
        return json_response(load_sample("error_auth_missing_api_key.json"), 401)
    if key == fake.api_key:
        return None
    return json_response(load_sample("error_auth_wrong_api_key.json"), 401)


def route(fake: FakeMoonraker, request: Request) -> Response:
    path = request.scope["path"]
    try:
        if path in ENDPOINTS:
            return ENDPOINTS[path](fake, request)
        if path.startswith(GCODES_PREFIX):
            return gcode_file(fake, request, path[len(GCODES_PREFIX) :])
        raise MoonrakerError(404, "Not Found")
    except MoonrakerError as error:
        return error_response(error)


def _seen(request: Request) -> Seen:
    """scope["path"], not request.url.path: a decoded '#' or '?' would cut the latter."""
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    return Seen(
        method=request.method,
        path=request.scope["path"],
        raw_path=raw_path.decode("latin-1"),
        query=_query(request),
        headers=dict(request.headers.items()),
    )


def create_app(fake: FakeMoonraker) -> Starlette:
    """Every request is logged, then faults, then auth (Moonraker's prepare()), then routed."""

    async def dispatch(request: Request) -> Response:
        seen = _seen(request)
        fake.log_request(seen)
        fault = fake.take_fault(seen.path, seen.query)
        if fault is not None and fault.reply is not None:
            return ScriptedResponse(fault.reply, fake.stopping)
        if fault is not None and fault.kind != "delay":
            return fault_response(fault)
        if fault is not None:
            await _sleep_unless_stopping(fault.seconds, fake.stopping)
        denied = auth_failure(fake, request)
        return denied if denied is not None else route(fake, request)

    async def websocket(websocket: WebSocket) -> None:
        await websocket_endpoint(fake, websocket)

    return Starlette(
        routes=[
            WebSocketRoute("/websocket", websocket),
            Route("/{path:path}", dispatch, methods=["GET"]),
        ]
    )


# ---------------------------------------------------------------------------- server


class FakeMoonrakerServer(LiveServer):
    """Runs a FakeMoonraker with uvicorn in a background thread on 127.0.0.1.

    Stopping first cuts delayed answers short, so a "delay" fault never holds up the
    shutdown.
    """

    def __init__(
        self,
        moonraker: FakeMoonraker | None = None,
        *,
        startup_timeout: float = 5.0,
        shutdown_timeout: float = 5.0,
    ) -> None:
        self.moonraker = moonraker if moonraker is not None else FakeMoonraker()
        super().__init__(
            create_app(self.moonraker),
            lifespan="off",
            startup_timeout=startup_timeout,
            shutdown_timeout=shutdown_timeout,
            name="fake-moonraker",
            on_stop=self._stopping,
            config={"ws": "websockets-sansio", "ws_ping_interval": None},
        )

    def _stopping(self) -> None:
        self.moonraker.stopping.set()
        self.moonraker.websocket.drop_connections()

    def start(self) -> None:
        self.moonraker.stopping.clear()
        super().start()
        self.moonraker.url = self.url


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused). The port was just
    bound and released, so the OS will not hand it out again right away."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
