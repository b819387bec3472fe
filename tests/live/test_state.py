"""Merging Moonraker's partial status updates into one printer's live state."""

import random
from datetime import UTC, datetime

from gql_server.services.live import Backoff
from gql_server.services.live.state import PrinterLive

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _printer() -> PrinterLive:
    return PrinterLive(1, lambda: NOW)


def test_an_update_changes_only_the_fields_it_carries() -> None:
    live = _printer()
    live.replace_objects({"extruder": {"temperature": 20.0, "target": 0.0}})
    status = live.merge({"extruder": {"target": 215.0}})
    assert (status.extruder.temperature, status.extruder.target) == (20.0, 215.0)


def test_a_new_subscription_forgets_what_it_does_not_report() -> None:
    live = _printer()
    live.merge({"print_stats": {"state": "printing", "filename": "a.gcode"}})
    status = live.replace_objects({"extruder": {"temperature": 20.0}})
    assert (status.print_state, status.filename) == (None, None)


def test_webhooks_decide_the_klippy_state_and_its_message() -> None:
    live = _printer()
    live.connected("ready")
    status = live.merge({"webhooks": {"state": "shutdown", "state_message": "MCU shutdown"}})
    assert (status.klippy_state, status.message) == ("shutdown", "MCU shutdown")


def test_the_time_left_is_extrapolated_only_while_printing() -> None:
    live = _printer()
    printing = live.merge(
        {"print_stats": {"state": "printing", "print_duration": 300.0},
         "display_status": {"progress": 0.25}}
    )  # fmt: skip
    done = live.merge({"print_stats": {"state": "complete"}})
    assert (printing.estimated_time_left, done.estimated_time_left) == (900.0, None)


def test_odd_values_are_unknown_not_errors() -> None:
    live = _printer()
    status = live.merge(
        {"print_stats": {"state": "exploding", "print_duration": float("nan")},
         "display_status": {"progress": 7}, "extruder": {"temperature": "hot"}}
    )  # fmt: skip
    assert (status.print_state, status.print_duration, status.progress) == (None, None, 1.0)
    assert status.extruder is not None and status.extruder.temperature is None


def test_backoff_doubles_up_to_its_cap_with_jitter_below_it() -> None:
    backoff = Backoff(base=1.0, cap=8.0)
    rng = random.Random(0)
    delays = [backoff.delay(attempt, rng) for attempt in range(6)]
    assert all(0.5 * min(8.0, 2**n) <= d <= min(8.0, 2**n) for n, d in enumerate(delays))
