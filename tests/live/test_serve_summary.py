"""What `serve` says about live mode before it listens."""

from dataclasses import replace

from gql_server.cli.serve import serve_summary
from gql_server.config import Settings

LIVE = Settings(database_url="sqlite://", live=True)


def _live_line(settings: Settings, workers: int) -> str:
    (line,) = [
        line
        for line in serve_summary(settings, "127.0.0.1", 8000, workers).splitlines()
        if line.startswith("live mode:")
    ]
    return line


def test_one_worker_goes_live() -> None:
    assert "on: one Moonraker websocket per active printer" in _live_line(LIVE, 1)


def test_several_workers_do_not_go_live_and_it_says_so() -> None:
    assert "off: live mode runs with one worker only" in _live_line(LIVE, 2)


def test_gql_live_false_is_off() -> None:
    assert "off (GQL_LIVE=false)" in _live_line(replace(LIVE, live=False), 1)
