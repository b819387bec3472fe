"""The fake Moonraker answers like the recorded one and keeps Moonraker's rules."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.fake_moonraker import (
    GCODES,
    FakeMoonraker,
    FakeMoonrakerServer,
    closed_port_url,
    load_sample,
)

KEY = "5f0e0c6b1d2a4e8f9b3c7d6e1a2b3c4d"
INDEX: list[dict[str, Any]] = load_sample("index.json")
# Totals of the real 200-job history cannot be rebuilt (most of its jobs were never recorded),
# and the sizes in the file list are those of fixtures/gcode/, not of the recorded files.
NOT_REBUILT = {"history_totals.json", "files_list_gcodes.json"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeMoonrakerServer]:
    with FakeMoonrakerServer() as running:
        yield running


@pytest.fixture
def fake(server: FakeMoonrakerServer) -> FakeMoonraker:
    server.moonraker.reset()
    return server.moonraker


@pytest.fixture(scope="module")
def client(server: FakeMoonrakerServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as http:
        yield http


@pytest.fixture
def recorded(fake: FakeMoonraker) -> FakeMoonraker:
    fake.add_sample_files()
    fake.add_recorded_history()
    return fake


def _entries(status_class: int) -> list[Any]:
    return [
        pytest.param(entry, id=entry["file"])
        for entry in INDEX
        if entry["status"] // 100 == status_class and entry["file"] not in NOT_REBUILT
    ]


def _replay(fake: FakeMoonraker, client: httpx.Client, entry: dict[str, Any]) -> httpx.Response:
    """Send a recorded request to a fake configured like the recorded instance."""
    fake.api_key, fake.trusted = KEY, "auth=trusted" in entry["instance"]
    headers = {name: KEY if v == "<valid key>" else v for name, v in entry["headers"].items()}
    return client.get(entry["path"], params=entry["query"], headers=headers)


def _ids(response: httpx.Response) -> list[str]:
    return [job["job_id"] for job in response.json()["result"]["jobs"]]


def _last_line(error: dict[str, Any]) -> str:
    return str(error["traceback"]).strip().splitlines()[-1]


# ---------------------------------------------------------------- recorded responses


@pytest.mark.parametrize("entry", _entries(2))
def test_recorded_responses_are_reproduced(
    recorded: FakeMoonraker, client: httpx.Client, entry: dict[str, Any]
) -> None:
    response = _replay(recorded, client, entry)
    assert (response.status_code, response.headers["content-type"]) == (200, entry["content_type"])
    assert response.json() == load_sample(entry["file"])


@pytest.mark.parametrize("entry", _entries(4) + _entries(5))
def test_recorded_errors_keep_status_code_message_and_real_text(
    recorded: FakeMoonraker, client: httpx.Client, entry: dict[str, Any]
) -> None:
    response = _replay(recorded, client, entry)
    got, expected = response.json()["error"], load_sample(entry["file"])["error"]
    assert response.status_code == entry["status"]
    assert (list(got), got["code"], got["message"]) == (
        list(expected),
        expected["code"],
        expected["message"],
    )
    assert _last_line(got) == _last_line(expected)


def test_totals_have_the_recorded_shape_with_a_float_job_count(
    recorded: FakeMoonraker, client: httpx.Client
) -> None:
    totals = client.get("/server/history/totals").json()["result"]
    expected = load_sample("history_totals.json")["result"]
    assert list(totals["job_totals"]) == list(expected["job_totals"])
    assert [(a["provider"], a["field"]) for a in totals["auxiliary_totals"]] == [
        (a["provider"], a["field"]) for a in expected["auxiliary_totals"]
    ]
    assert totals["job_totals"]["total_jobs"] == 198.0  # 200 jobs, 000002 and 000046 interrupted
    assert isinstance(totals["job_totals"]["total_jobs"], float)


# ---------------------------------------------------------------- history/list


def test_list_defaults_to_fifty_newest_ids_first(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(120)
    assert _ids(client.get("/server/history/list")) == [f"{i:06X}" for i in range(120, 70, -1)]


def test_limit_three_desc(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(20)
    assert _ids(client.get("/server/history/list", params={"limit": 3})) == [
        "000014",
        "000013",
        "000012",
    ]


def test_start_is_an_offset(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(20)
    params = {"start": 10, "limit": 5, "order": "asc"}
    assert _ids(client.get("/server/history/list", params=params)) == [
        f"{i:06X}" for i in range(11, 16)
    ]


def test_start_past_the_end_gives_an_empty_page(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(5)
    body = client.get("/server/history/list", params={"start": 5, "limit": 10}).json()
    assert body == {"result": {"count": 0, "jobs": []}}


def test_count_is_the_page_size_not_the_total(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(12)
    params = {"start": 10, "limit": 5}
    assert client.get("/server/history/list", params=params).json()["result"]["count"] == 2


def test_limit_has_no_maximum(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(300)
    body = client.get("/server/history/list", params={"limit": 1000}).json()
    assert body["result"]["count"] == 300


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_at_most_zero_returns_everything_and_ignores_start(
    fake: FakeMoonraker, client: httpx.Client, limit: int
) -> None:
    fake.add_jobs(70)
    params = {"limit": limit, "start": 10}
    assert client.get("/server/history/list", params=params).json()["result"]["count"] == 70


def test_order_sorts_by_job_id_not_by_time(fake: FakeMoonraker, client: httpx.Client) -> None:
    for start in (3000.0, 1000.0, 2000.0):
        fake.add_job(start_time=start, total_duration=10.0)
    params = {"order": "asc"}
    assert _ids(client.get("/server/history/list", params=params)) == ["000001", "000002", "000003"]


def test_since_keeps_strictly_later_starts(fake: FakeMoonraker, client: httpx.Client) -> None:
    for start in (100.0, 200.0, 300.0):
        fake.add_job(start_time=start, total_duration=10.0)
    assert _ids(client.get("/server/history/list", params={"since": 200.0})) == ["000003"]


def test_before_drops_jobs_without_end_time(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_job(start_time=100.0, status="interrupted")
    fake.add_job(start_time=200.0, total_duration=10.0)
    fake.add_job(start_time=300.0, status="in_progress")
    assert _ids(client.get("/server/history/list", params={"before": 1e12})) == ["000002"]


def test_before_keeps_strictly_earlier_ends(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_job(start_time=100.0, end_time=150.0)
    fake.add_job(start_time=200.0, end_time=250.0)
    assert _ids(client.get("/server/history/list", params={"before": 250.0})) == ["000001"]


@pytest.mark.parametrize(
    ("name", "value", "kind"), [("since", "yesterday", "float"), ("start", "1.5", "int")]
)
def test_unconvertible_numbers_are_400_with_the_text_only_in_the_traceback(
    fake: FakeMoonraker, client: httpx.Client, name: str, value: str, kind: str
) -> None:
    response = client.get("/server/history/list", params={name: value})
    error = response.json()["error"]
    assert (response.status_code, error["message"]) == (400, "Unknown")
    assert _last_line(error).endswith(f"[{name}] to <class '{kind}'>: value received: {value}")


def test_order_is_case_insensitive(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(3)
    assert _ids(client.get("/server/history/list", params={"order": "ASC"}))[0] == "000001"


# ---------------------------------------------------------------- history/job, ids, totals


def test_uid_is_hex_case_insensitive_and_echoed(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_jobs(12)
    job = client.get("/server/history/job", params={"uid": "00000c"}).json()["result"]["job"]
    assert (job["job_id"], job["start_time"]) == ("00000c", fake.jobs[11]["start_time"])


def test_reset_history_hands_out_ids_from_000001_again(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.add_jobs(3)
    fake.reset_history()
    fake.add_job(filename="after_reset.gcode")
    job = client.get("/server/history/job", params={"uid": "000001"}).json()["result"]["job"]
    assert job["filename"] == "after_reset.gcode"


def test_deleting_the_newest_job_hands_its_id_out_again(fake: FakeMoonraker) -> None:
    fake.add_jobs(3)
    fake.delete_job("000003")
    assert fake.add_job()["job_id"] == "000003"


def test_deleting_jobs_never_lowers_totals(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_job(total_duration=100.0)
    fake.add_job(total_duration=50.0)
    fake.delete_job("000001")
    fake.reset_history()
    totals = client.get("/server/history/totals").json()["result"]["job_totals"]
    kept = (totals["total_jobs"], totals["total_time"], totals["longest_job"])
    assert kept == (2.0, 150.0, 100.0)


def test_totals_count_every_finished_status_but_interrupted(fake: FakeMoonraker) -> None:
    for status in ("completed", "cancelled", "error", "klippy_shutdown", "interrupted"):
        fake.add_job(status=status)
    fake.add_job(status="in_progress")
    assert fake.totals["job_totals"]["total_jobs"] == 4.0


def test_reset_totals_zeroes_them_and_keeps_jobs(fake: FakeMoonraker) -> None:
    fake.add_jobs(5)
    fake.reset_totals()
    assert (fake.totals["job_totals"]["total_jobs"], len(fake.jobs)) == (0.0, 5)


def test_finish_job_rewrites_the_running_job_and_counts_it(fake: FakeMoonraker) -> None:
    running = fake.add_job(status="in_progress", start_time=1000.0)
    finished = fake.finish_job(running["job_id"], "cancelled", total_duration=60.0)
    assert (finished["job_id"], finished["status"], finished["end_time"]) == (
        "000001",
        "cancelled",
        1060.0,
    )
    assert fake.totals["job_totals"]["total_jobs"] == 1.0


def test_restart_turns_running_jobs_into_interrupted_ones(fake: FakeMoonraker) -> None:
    fake.add_job(status="in_progress")
    assert fake.restart() == ["000001"]
    assert (fake.jobs[0]["status"], fake.jobs[0]["end_time"]) == ("interrupted", None)


# ---------------------------------------------------------------- files and exists


def test_exists_needs_the_file_unchanged_since_the_job(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.add_sample_files()
    fake.add_job(filename="3DBenchy_0.15mm_PLA_1h22m.gcode")
    fake.add_job(filename="gone.gcode")
    fake.touch_file("3DBenchy_0.15mm_PLA_1h22m.gcode", modified=1.0)
    jobs = client.get("/server/history/list").json()["result"]["jobs"]
    assert [job["exists"] for job in jobs] == [False, False]


def test_exists_for_a_job_without_metadata_only_needs_the_file(fake: FakeMoonraker) -> None:
    fake.add_file("plain.gcode", gcode=b"G28\n")
    job = fake.add_job(filename="plain.gcode", metadata={})
    assert fake.public_job(job, job["job_id"])["exists"] is True


def test_file_metadata_remembers_the_latest_print(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.add_sample_files()
    job = fake.add_job(filename="macro_test_no_slicer.gcode", start_time=5000.0)
    params = {"filename": "macro_test_no_slicer.gcode"}
    metadata = client.get("/server/files/metadata", params=params).json()["result"]
    assert (metadata["job_id"], metadata["print_start_time"]) == (job["job_id"], 5000.0)
    assert "job_id" not in job["metadata"]


def test_files_list_matches_the_recording_with_served_sizes(
    recorded: FakeMoonraker, client: httpx.Client
) -> None:
    files = client.get("/server/files/list", params={"root": "gcodes"}).json()["result"]
    expected = load_sample("files_list_gcodes.json")["result"]
    assert [(f["path"], f["modified"]) for f in files] == [
        (f["path"], f["modified"]) for f in expected
    ]
    assert files[1]["size"] == len(recorded.files[files[1]["path"]]["gcode"])


def test_sample_files_serve_the_fixture_gcode(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.add_sample_files()
    name = "calibration/xyz_calibration_cube_PETG.gcode"
    response = client.get(f"/server/files/gcodes/{name}")
    fixture = GCODES / name
    if fixture.is_file():
        assert response.content == fixture.read_bytes()
    else:  # placeholder of the recorded size
        assert len(response.content) == 5000


# ---------------------------------------------------------------- gcode Range requests


@pytest.fixture
def gcode(fake: FakeMoonraker) -> bytes:
    data = bytes(range(256)) * 4
    fake.add_file("dir/with space ü.gcode", gcode=data)
    return data


def _gcode(client: httpx.Client, range_header: str | None = None) -> httpx.Response:
    headers = {"Range": range_header} if range_header else {}
    return client.get("/server/files/gcodes/" + quote("dir/with space ü.gcode"), headers=headers)


def test_suffix_range_returns_the_tail(gcode: bytes, client: httpx.Client) -> None:
    response = _gcode(client, "bytes=-100")
    assert (response.status_code, response.headers["content-range"]) == (206, "bytes 924-1023/1024")
    assert response.content == gcode[-100:]


def test_closed_range_is_inclusive(gcode: bytes, client: httpx.Client) -> None:
    response = _gcode(client, "bytes=10-19")
    assert (response.status_code, response.content) == (206, gcode[10:20])


def test_suffix_longer_than_the_file_is_a_200_with_everything(
    gcode: bytes, client: httpx.Client
) -> None:
    response = _gcode(client, "bytes=-5000")
    assert (response.status_code, response.content) == (200, gcode)
    assert "content-range" not in response.headers


def test_range_past_the_end_is_416(gcode: bytes, client: httpx.Client) -> None:
    response = _gcode(client, "bytes=2000-")
    assert (response.status_code, response.headers["content-range"]) == (416, "bytes */1024")


def test_whole_file_without_range(gcode: bytes, client: httpx.Client) -> None:
    response = _gcode(client)
    assert (response.status_code, response.headers["accept-ranges"]) == (200, "bytes")
    assert response.content == gcode


def test_unknown_gcode_is_404_with_moonraker_error(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    response = client.get("/server/files/gcodes/missing.gcode", headers={"Range": "bytes=-10"})
    assert (response.status_code, response.json()["error"]["message"]) == (404, "Not Found")


# ---------------------------------------------------------------- auth


def test_access_info_needs_no_key(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.api_key = KEY
    assert client.get("/access/info").json() == load_sample("access_info.json")


def test_the_right_key_passes(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.api_key = KEY
    assert client.get("/server/info", headers={"X-Api-Key": KEY}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "sample"),
    [
        ({}, "error_auth_missing_api_key.json"),
        ({"X-Api-Key": "f" * 32}, "error_auth_wrong_api_key.json"),
    ],
)
def test_missing_or_wrong_key_is_401_with_the_recorded_body(
    fake: FakeMoonraker, client: httpx.Client, headers: dict[str, str], sample: str
) -> None:
    fake.api_key = KEY
    response = client.get("/server/files/gcodes/x.gcode", headers=headers)
    assert (response.status_code, response.json()) == (401, load_sample(sample))


# ---------------------------------------------------------------- generated jobs


def test_add_jobs_is_deterministic_per_seed() -> None:
    first, second = FakeMoonraker(), FakeMoonraker()
    assert first.add_jobs(30, seed=7) == second.add_jobs(30, seed=7)


def test_add_jobs_varies_statuses_and_filenames(fake: FakeMoonraker) -> None:
    jobs = fake.add_jobs(400, seed=1)
    names = [job["filename"] for job in jobs]
    assert {"completed", "cancelled", "error", "klippy_shutdown"} <= {j["status"] for j in jobs}
    assert any(" " in n for n in names) and any("/" in n for n in names)
    assert any(not n.isascii() for n in names)


def test_add_jobs_leaves_end_time_null_only_for_unfinished_jobs(fake: FakeMoonraker) -> None:
    jobs = fake.add_jobs(400, seed=2)
    open_jobs = {job["status"] for job in jobs if job["end_time"] is None}
    assert open_jobs == {"interrupted"}


def test_add_jobs_starts_increase_with_ids(fake: FakeMoonraker) -> None:
    starts = [job["start_time"] for job in fake.add_jobs(100, seed=3)]
    assert starts == sorted(starts)


def test_recorded_printer_reports_the_recorded_totals(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.add_recorded_printer()
    totals = client.get("/server/history/totals").json()
    assert totals == load_sample("history_totals.json")


# ---------------------------------------------------------------- scripted replies


def test_respond_answers_the_scripted_bytes_then_moonraker_again(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.respond("/server/info", status=418, body=b"teapot", content_type="text/plain", times=2)
    answers = [client.get("/server/info") for _ in range(3)]
    assert [(a.status_code, a.content) for a in answers[:2]] == [(418, b"teapot")] * 2
    assert answers[2].json() == load_sample("server_info.json")


def test_respond_matches_the_exact_path_only(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.respond("/server/history", status=418)
    assert client.get("/server/history/totals").status_code == 200


def test_respond_answers_before_the_key_is_checked(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.api_key = KEY
    fake.respond("/server/info", body=b"{}")
    statuses = [client.get("/server/info").status_code for _ in range(2)]
    assert statuses == [200, 401]


def test_respond_can_declare_a_longer_body_than_it_sends(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.respond("/server/info", body=b"{}", declared_length=1_000_000)
    with client.stream("GET", "/server/info", timeout=0.2) as response:
        assert response.headers["content-length"] == "1000000"
        with pytest.raises(httpx.ReadTimeout):
            response.read()


def test_respond_can_stream_without_a_length(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.respond("/server/info", body=b"x" * 10_000, chunked=True)
    response = client.get("/server/info")
    assert (response.headers.get("content-length"), response.content) == (None, b"x" * 10_000)


def test_requests_keep_the_raw_path_and_the_headers(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    client.get("/server/files/gcodes/%C3%9Cber%20%232.gcode", headers={"X-Api-Key": KEY})
    seen = fake.requests[-1]
    assert (seen.path, seen.raw_path, seen.headers["x-api-key"]) == (
        "/server/files/gcodes/Über #2.gcode",
        "/server/files/gcodes/%C3%9Cber%20%232.gcode",
        KEY,
    )


def test_the_server_tells_the_fake_its_url(
    server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    assert fake.url == server.url


# ---------------------------------------------------------------- faults


def test_fail_list_page_fails_only_that_offset_once(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.fail_list_page(50, status=503)
    statuses = [
        client.get("/server/history/list", params={"start": start}).status_code
        for start in (0, 50, 50)
    ]
    assert statuses == [200, 503, 200]


def test_fault_on_the_nth_request_only(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.fault("status", path="/server/history/", nth=2)
    statuses = [client.get("/server/history/totals").status_code for _ in range(3)]
    assert statuses == [200, 500, 200]


def test_status_fault_carries_moonraker_error_body(
    fake: FakeMoonraker, client: httpx.Client
) -> None:
    fake.fault("status", status=503)
    response = client.get("/server/info")
    assert (response.status_code, response.json()["error"]["message"]) == (
        503,
        "Service Unavailable",
    )


def test_malformed_json_fault(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.fault("malformed_json")
    response = client.get("/server/history/list")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("status", [502, 200])
def test_html_fault(fake: FakeMoonraker, client: httpx.Client, status: int) -> None:
    fake.fault("html", status=status)
    response = client.get("/server/info")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_fault(fake: FakeMoonraker, client: httpx.Client, chunked: bool) -> None:
    fake.fault("oversized", size=300_000, chunked=chunked)
    response = client.get("/server/history/list")
    assert len(response.content) == 300_000
    assert ("content-length" in response.headers) is not chunked
    assert response.json()["result"]["count"] == 0


def test_redirect_fault(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.fault("redirect", location="http://example.invalid/elsewhere")
    response = client.get("/server/info")
    assert (response.status_code, response.headers["location"]) == (
        302,
        "http://example.invalid/elsewhere",
    )


def test_delay_fault_triggers_a_read_timeout(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.fault("delay", seconds=1.0, times=1)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/server/info", timeout=0.1)


def test_delay_fault_does_not_block_other_requests(
    fake: FakeMoonraker, server: FakeMoonrakerServer
) -> None:
    """Ordering, not a stopwatch: the other answer arrives while the delayed one waits."""
    fake.fault("delay", path="/server/history/", seconds=3)
    slow = threading.Thread(target=_quiet_get, args=(server.url + "/server/history/totals",))
    slow.start()
    deadline = time.monotonic() + 5
    while not fake.requests_to("/server/history/totals") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.requests_to("/server/history/totals"), "the delayed request never arrived"
    with httpx.Client(base_url=server.url) as other:
        assert other.get("/server/info").status_code == 200
    assert slow.is_alive()
    slow.join(5)
    assert not slow.is_alive()


def test_clear_faults(fake: FakeMoonraker, client: httpx.Client) -> None:
    fake.fault("status")
    fake.clear_faults()
    assert client.get("/server/info").status_code == 200


# ---------------------------------------------------------------- log, lifecycle


def test_requests_are_logged_with_their_query(fake: FakeMoonraker, client: httpx.Client) -> None:
    client.get("/server/history/list", params={"limit": 5, "start": 10})
    assert fake.requests_to("/server/history/list") == [{"limit": "5", "start": "10"}]


def test_nothing_listens_on_closed_port_url() -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(closed_port_url() + "/server/info", timeout=1)


def _quiet_get(url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(url, timeout=10)


def test_stop_cuts_delayed_answers_short() -> None:
    with FakeMoonrakerServer() as server:
        server.moonraker.fault("delay", seconds=30)
        waiting = threading.Thread(target=_quiet_get, args=(server.url + "/server/info",))
        waiting.start()
        deadline = time.monotonic() + 5
        while not server.moonraker.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 2
    waiting.join(5)
    assert not waiting.is_alive()
