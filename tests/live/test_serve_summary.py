"""What `serve` says about live mode before it listens."""

from dataclasses import replace

from gql_server.cli.serve import serve_summary
from gql_server.config import Settings

LIVE = Settings(database_url="sqlite://", live=True)


def _line(settings: Settings, workers: int, name: str = "live mode") -> str:
    (line,) = [
        line
        for line in serve_summary(settings, "127.0.0.1", 8000, workers).splitlines()
        if line.startswith(f"{name}:")
    ]
    return line


def _live_line(settings: Settings, workers: int) -> str:
    return _line(settings, workers)


def test_one_worker_goes_live() -> None:
    assert "on: one Moonraker websocket per active printer" in _live_line(LIVE, 1)


def test_several_workers_go_live_sharing_the_sockets() -> None:
    assert "shared by the workers" in _live_line(LIVE, 2)


def test_several_workers_without_a_broker_say_events_stay_per_worker() -> None:
    assert "GQL_BROKER_URL unset" in _line(LIVE, 2, "broker")


def test_the_broker_is_shown_without_its_password() -> None:
    brokered = replace(LIVE, broker_url="redis://:s3cret@127.0.0.1:6379/0")
    assert _line(brokered, 2, "broker").endswith("redis://***@127.0.0.1:6379/0")


def test_gql_live_false_is_off() -> None:
    assert "off (GQL_LIVE=false)" in _live_line(replace(LIVE, live=False), 1)
