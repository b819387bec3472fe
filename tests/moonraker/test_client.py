import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from gql_server.moonraker.client import ClientOptions, MoonrakerClient
from gql_server.moonraker.errors import MoonrakerError
from tests.factories import LOOPBACK
from tests.support.fake_moonraker import GCODES, FakeMoonraker

pytestmark = pytest.mark.anyio

Sample = Callable[[str], Any]

VALID_KEY = "5f0c3f2a9e8b4d7c8a1b2c3d4e5f6a7b"
WRONG_KEY = "0123456789abcdef0123456789abcdef"
FAST = ClientOptions(backoff_base=0.001, retries=0, allowed_networks=LOOPBACK)


def client_for(fake: FakeMoonraker, api_key: str | None = None, **options: Any) -> MoonrakerClient:
    return MoonrakerClient(fake.url, api_key=api_key, options=replace(FAST, **options))


def body_of(sample: Sample, name: str) -> bytes:
    return json.dumps(sample(name)).encode()


async def failure(call: Any) -> MoonrakerError:
    with pytest.raises(MoonrakerError) as caught:
        await call
    return caught.value


# what each method returns ------------------------------------------------------------------


async def test_server_info_is_moonrakers_result(
    fake_moonraker: FakeMoonraker, sample: Sample
) -> None:
    async with client_for(fake_moonraker) as client:
        assert await client.server_info() == sample("server_info.json")["result"]


async def test_history_page_sends_offset_limit_order_and_since(
    fake_moonraker: FakeMoonraker,
) -> None:
    async with client_for(fake_moonraker) as client:
        jobs = await client.history_page(start=10, limit=5, order="desc", since=1764197746.099624)
    assert len(jobs) == 5
    expected = {"start": "10", "limit": "5", "order": "desc", "since": "1764197746.099624"}
    assert fake_moonraker.requests[-1].query == expected


async def test_history_page_past_the_end_is_empty(fake_moonraker: FakeMoonraker) -> None:
    async with client_for(fake_moonraker) as client:
        assert await client.history_page(start=100_000, limit=10) == []


@pytest.mark.parametrize(("start", "limit"), [(0, 0), (0, -1), (-1, 10)])
async def test_history_page_refuses_a_limit_that_means_everything(
    fake_moonraker: FakeMoonraker, start: int, limit: int
) -> None:
    async with client_for(fake_moonraker) as client:
        with pytest.raises(ValueError):
            await client.history_page(start=start, limit=limit)
        assert client.requests_made == 0


async def test_history_job_is_the_recorded_job(
    fake_moonraker: FakeMoonraker, sample: Sample
) -> None:
    async with client_for(fake_moonraker) as client:
        job = await client.history_job("0000C5")
    assert job == sample("history_job_completed_exists.json")["result"]["job"]


async def test_unknown_history_job_is_none(fake_moonraker: FakeMoonraker) -> None:
    async with client_for(fake_moonraker) as client:
        assert await client.history_job("FFFFFF") is None


async def test_history_totals_are_moonrakers_result(
    fake_moonraker: FakeMoonraker, sample: Sample
) -> None:
    async with client_for(fake_moonraker) as client:
        assert await client.history_totals() == sample("history_totals.json")["result"]


async def test_file_metadata_is_the_recorded_metadata(
    fake_moonraker: FakeMoonraker, sample: Sample
) -> None:
    async with client_for(fake_moonraker) as client:
        metadata = await client.file_metadata("calibration/xyz_calibration_cube_PETG.gcode")
    assert metadata == sample("files_metadata_cura.json")["result"]


async def test_file_metadata_404_is_none(fake_moonraker: FakeMoonraker) -> None:
    async with client_for(fake_moonraker) as client:
        assert await client.file_metadata("no_such_file.gcode") is None
        assert client.requests_made == 1


async def test_non_ascii_metadata_filename_reaches_moonraker_intact(
    fake_moonraker: FakeMoonraker,
) -> None:
    filename = "Überhang/测试 & [a] #2.gcode"
    async with client_for(fake_moonraker) as client:
        await client.file_metadata(filename)
    assert fake_moonraker.requests[-1].query == {"filename": filename}


async def test_404_page_not_from_moonraker_is_an_error(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.respond(
        "/server/files/metadata", status=404, body=b"<h1>404</h1>", content_type="text/html"
    )
    async with client_for(fake_moonraker) as client:
        error = await failure(client.file_metadata("3DBenchy_0.15mm_PLA_1h22m.gcode"))
    assert (error.code, error.message) == ("HTTP_ERROR", "Moonraker answered HTTP 404")


# gcode_tail --------------------------------------------------------------------------------


async def test_gcode_tail_reads_the_last_bytes_with_a_range(fake_moonraker: FakeMoonraker) -> None:
    filename = "voron/Voron_Design_Cube_v7_ABS_0.2mm_42m.gcode"
    async with client_for(fake_moonraker) as client:
        tail = await client.gcode_tail(filename, 2000)
    assert tail == (GCODES / filename).read_bytes()[-2000:].decode()
    assert fake_moonraker.requests[-1].headers["range"] == "bytes=-2000"


async def test_gcode_tail_keeps_the_last_bytes_when_range_is_ignored(
    fake_moonraker: FakeMoonraker,
) -> None:
    content = b"G1 X1\n" * 100 + b"; fill_density = 15%\n"
    fake_moonraker.respond("/server/files/gcodes/a.gcode", body=content, content_type="text/plain")
    async with client_for(fake_moonraker) as client:
        assert await client.gcode_tail("a.gcode", 21) == "; fill_density = 15%\n"


async def test_gcode_tail_quotes_the_path_but_not_its_slashes(
    fake_moonraker: FakeMoonraker,
) -> None:
    async with client_for(fake_moonraker) as client:
        assert await client.gcode_tail("Überhang/[a] bin #2+.gcode", 100) is None
    encoded = "/server/files/gcodes/%C3%9Cberhang/%5Ba%5D%20bin%20%232%2B.gcode"
    assert fake_moonraker.requests[-1].raw_path == encoded


async def test_gcode_tail_decodes_broken_utf8_with_replacement(
    fake_moonraker: FakeMoonraker,
) -> None:
    # A range starting inside a multi-byte character, as any tail can.
    content = '; filament_settings_id = "Süß PLA"\n'.encode()[22:]
    fake_moonraker.respond("/server/files/gcodes/b.gcode", status=206, body=content)
    async with client_for(fake_moonraker) as client:
        tail = await client.gcode_tail("b.gcode", len(content))
    assert tail == content.decode(errors="replace")


@pytest.mark.parametrize("filename", ["../moonraker.conf", "a/../../b.gcode", "/abs.gcode", "a//b"])
async def test_gcode_tail_never_requests_a_path_that_leaves_the_file(
    fake_moonraker: FakeMoonraker, filename: str
) -> None:
    async with client_for(fake_moonraker) as client:
        assert await client.gcode_tail(filename, 100) is None
        assert client.requests_made == 0


async def test_gcode_tail_of_an_empty_file_is_empty(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.respond("/server/files/gcodes/empty.gcode", status=416)
    async with client_for(fake_moonraker) as client:
        assert await client.gcode_tail("empty.gcode", 100) == ""


# failures ----------------------------------------------------------------------------------


async def test_closed_port_is_unreachable_after_retries(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    async with MoonrakerClient(url, options=replace(FAST, retries=2)) as client:
        error = await failure(client.server_info())
        assert (error.code, client.requests_made) == ("UNREACHABLE", 3)
    assert error.message.startswith(f"cannot connect to 127.0.0.1:{closed_port}")


async def test_connect_timeout_is_timeout() -> None:
    # A true connect timeout cannot be produced reliably on loopback (the
    # kernel answers or refuses at once), so the transport raises it here.
    def never_connects(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    transport = httpx.MockTransport(never_connects)
    options = replace(FAST, retries=1, connect_timeout=0.5)
    url = "http://printer.invalid:7125"
    async with MoonrakerClient(url, options=options, transport=transport) as client:
        error = await failure(client.server_info())
        assert client.requests_made == 2
    assert (error.code, error.message) == (
        "TIMEOUT",
        "no connection to printer.invalid:7125 within 0.5 s",
    )


async def test_slow_answer_is_a_read_timeout(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.respond("/server/info", delay=2.0, times=2)
    started = time.monotonic()
    async with client_for(fake_moonraker, read_timeout=0.1, retries=1) as client:
        error = await failure(client.server_info())
        assert (error.code, client.requests_made) == ("TIMEOUT", 2)
    assert time.monotonic() - started < 1.0


async def test_wrong_api_key_fails_auth_without_showing_the_key(
    fake_moonraker: FakeMoonraker,
) -> None:
    fake_moonraker.api_key = VALID_KEY
    async with client_for(fake_moonraker, api_key=WRONG_KEY, retries=3) as client:
        error = await failure(client.history_page(start=0, limit=1))
        assert client.requests_made == 1
    assert (error.code, error.message) == (
        "AUTH_FAILED",
        "the printer rejected its API key (HTTP 401)",
    )
    assert WRONG_KEY not in str(error) + repr(error)


async def test_missing_api_key_fails_auth(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.api_key = VALID_KEY
    async with client_for(fake_moonraker) as client:
        error = await failure(client.server_info())
    assert (error.code, error.message) == (
        "AUTH_FAILED",
        "the printer requires an API key (HTTP 401)",
    )


async def test_403_fails_auth(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.respond("/server/info", status=403)
    async with client_for(fake_moonraker, api_key=VALID_KEY) as client:
        assert (await failure(client.server_info())).code == "AUTH_FAILED"


async def test_500_is_an_http_error_without_the_traceback(fake_moonraker: FakeMoonraker) -> None:
    async with client_for(fake_moonraker, retries=3) as client:
        error = await failure(client.history_job("job-1"))
        assert client.requests_made == 1
    assert (error.code, error.message) == (
        "HTTP_ERROR",
        "Moonraker answered HTTP 500: Internal Server Error",
    )


async def test_http_error_shows_moonrakers_message(
    fake_moonraker: FakeMoonraker, sample: Sample
) -> None:
    body = body_of(sample, "error_history_list_bad_order.json")
    fake_moonraker.respond("/server/history/list", status=400, body=body)
    async with client_for(fake_moonraker) as client:
        error = await failure(client.history_page(start=0, limit=1))
    assert error.message == "Moonraker answered HTTP 400: Invalid `order` value: NEWEST"


async def test_http_error_drops_moonrakers_unknown_message(
    fake_moonraker: FakeMoonraker, sample: Sample
) -> None:
    body = body_of(sample, "error_history_list_bad_limit.json")
    fake_moonraker.respond("/server/history/list", status=400, body=body)
    async with client_for(fake_moonraker) as client:
        error = await failure(client.history_page(start=0, limit=1))
    assert error.message == "Moonraker answered HTTP 400"


async def test_api_key_echoed_by_the_printer_is_masked(fake_moonraker: FakeMoonraker) -> None:
    body = json.dumps({"error": {"code": 400, "message": f"bad key {VALID_KEY}!"}}).encode()
    fake_moonraker.respond("/server/info", status=400, body=body)
    async with client_for(fake_moonraker, api_key=VALID_KEY) as client:
        error = await failure(client.server_info())
    assert error.message == "Moonraker answered HTTP 400: bad key ***!"


async def test_503_is_retried_until_it_succeeds(
    fake_moonraker: FakeMoonraker, sample: Sample
) -> None:
    fake_moonraker.respond("/server/info", status=503, times=2)
    async with client_for(fake_moonraker, retries=3) as client:
        assert await client.server_info() == sample("server_info.json")["result"]
        assert client.requests_made == 3


async def test_502_after_every_retry_is_an_http_error(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.respond("/server/info", status=502, times=3)
    async with client_for(fake_moonraker, retries=2) as client:
        error = await failure(client.server_info())
        assert (error.code, client.requests_made) == ("HTTP_ERROR", 3)


async def test_redirect_is_an_http_error_and_not_followed(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.respond("/server/info", status=302, headers={"Location": "/server/info"})
    async with client_for(fake_moonraker) as client:
        error = await failure(client.server_info())
    assert (error.code, len(fake_moonraker.requests)) == ("HTTP_ERROR", 1)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"result": {"moonraker_version"', "application/json"),
        (b"<!DOCTYPE html><html><body>Mainsail</body></html>", "text/html"),
        (b"<!DOCTYPE html><html><body>Mainsail</body></html>", "application/json"),
        (b'{"jobs": []}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b"", "application/json"),
    ],
)
async def test_answer_that_is_not_moonraker_json_is_a_bad_response(
    fake_moonraker: FakeMoonraker, body: bytes, content_type: str
) -> None:
    fake_moonraker.respond("/server/info", body=body, content_type=content_type)
    async with client_for(fake_moonraker) as client:
        assert (await failure(client.server_info())).code == "BAD_RESPONSE"


@pytest.mark.parametrize("jobs", [None, {"0": {}}, [{"job_id": "01"}, "02"]])
async def test_history_page_without_a_list_of_jobs_is_a_bad_response(
    fake_moonraker: FakeMoonraker, jobs: Any
) -> None:
    body = json.dumps({"result": {"count": 1, "jobs": jobs}}).encode()
    fake_moonraker.respond("/server/history/list", body=body)
    async with client_for(fake_moonraker) as client:
        assert (await failure(client.history_page(start=0, limit=1))).code == "BAD_RESPONSE"


async def test_declared_length_over_the_limit_is_too_large_before_reading(
    fake_moonraker: FakeMoonraker,
) -> None:
    # The body is shorter than declared: reading it would fail, not exceed.
    fake_moonraker.respond("/server/info", body=b"{}", declared_length=10_000_000)
    async with client_for(fake_moonraker, max_response_bytes=1000, retries=3) as client:
        error = await failure(client.server_info())
        assert (error.code, client.requests_made) == ("TOO_LARGE", 1)


async def test_streamed_body_over_the_limit_is_too_large(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.respond("/server/info", body=b" " * 200_000, chunked=True)
    async with client_for(fake_moonraker, max_response_bytes=10_000, retries=3) as client:
        error = await failure(client.server_info())
        assert (error.code, client.requests_made) == ("TOO_LARGE", 1)


async def test_body_at_the_limit_is_read(fake_moonraker: FakeMoonraker) -> None:
    body = b'{"result": {}}'
    fake_moonraker.respond("/server/info", body=body, chunked=True)
    async with client_for(fake_moonraker, max_response_bytes=len(body)) as client:
        assert await client.server_info() == {}


# headers -----------------------------------------------------------------------------------


async def test_api_key_is_sent_when_set(fake_moonraker: FakeMoonraker) -> None:
    fake_moonraker.api_key = VALID_KEY
    async with client_for(fake_moonraker, api_key=VALID_KEY) as client:
        await client.server_info()
    assert fake_moonraker.requests[-1].headers["x-api-key"] == VALID_KEY


async def test_no_api_key_header_without_a_key(fake_moonraker: FakeMoonraker) -> None:
    async with client_for(fake_moonraker) as client:
        await client.server_info()
    assert "x-api-key" not in fake_moonraker.requests[-1].headers


@pytest.mark.parametrize(
    "url",
    ["ftp://printer.local", "http://１２７.０.０.１:7125", "http://xn--/", "http://ａ.lan"],
)
def test_a_url_the_http_client_cannot_use_is_invalid_url(url: str) -> None:
    """Full-width and broken punycode hosts were stored, then failed every sync as an
    internal error."""
    with pytest.raises(MoonrakerError) as refused:
        MoonrakerClient(url)
    assert refused.value.code == "INVALID_URL"
