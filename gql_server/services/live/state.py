"""What a printer is doing now, merged from Moonraker's partial status updates.

``notify_status_update`` carries only the fields that changed, so each printer keeps the
Klipper objects as last reported and derives an immutable ``LiveStatus`` from them after
every change. Values are kept as Moonraker's names (``printing``, ``ready``); the GraphQL
layer maps them to its enums.
"""

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Connection(enum.StrEnum):
    """The state of the server's websocket to the printer's Moonraker."""

    CONNECTED = "CONNECTED"
    CONNECTING = "CONNECTING"
    OFFLINE = "OFFLINE"
    AUTH_FAILED = "AUTH_FAILED"


class KlippyState(enum.StrEnum):
    """Klipper's state as Moonraker reports it (``webhooks.state``)."""

    READY = "ready"
    STARTUP = "startup"
    SHUTDOWN = "shutdown"
    ERROR = "error"
    DISCONNECTED = "disconnected"


class PrintState(enum.StrEnum):
    """Klipper's ``print_stats.state``."""

    STANDBY = "standby"
    PRINTING = "printing"
    PAUSED = "paused"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    ERROR = "error"


# Members are strings: they equal Moonraker's names and cross the broker as them.
ACTIVE_PRINT_STATES = (PrintState.PRINTING, PrintState.PAUSED)


@dataclass(frozen=True, slots=True)
class Temperature:
    temperature: float | None
    target: float | None


@dataclass(frozen=True, slots=True)
class LiveStatus:
    printer_id: int
    connection: str
    klippy_state: str | None
    print_state: str | None
    filename: str | None
    progress: float | None  # 0 to 1
    print_duration: float | None
    estimated_time_left: float | None
    extruder: Temperature | None
    bed: Temperature | None
    message: str | None
    updated_at: datetime
    # Why the printer is OFFLINE or AUTH_FAILED: a stable code like the sync errors.
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class PrinterLive:
    """One printer's mutable live record; ``snapshot`` is what readers get."""

    printer_id: int
    clock: Callable[[], datetime]
    connection: str = Connection.CONNECTING
    klippy_state: str | None = None
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    updated_at: datetime | None = None

    def connecting(self) -> LiveStatus:
        self.connection = Connection.CONNECTING
        return self._changed()

    def connected(self, klippy_state: str | None) -> LiveStatus:
        self.connection, self.error_code, self.error_message = Connection.CONNECTED, None, None
        self.klippy_state = _klippy(klippy_state)
        return self._changed()

    def failed(self, connection: str, code: str, message: str) -> LiveStatus:
        self.connection, self.error_code, self.error_message = connection, code, message
        return self._changed()

    def klippy(self, state: str) -> LiveStatus:
        self.klippy_state = _klippy(state)
        return self._changed()

    def replace_objects(self, status: Mapping[str, Any]) -> LiveStatus:
        """A subscription's full answer: what it lacks is not known any more."""
        self.objects = {}
        return self.merge(status)

    def merge(self, diff: Mapping[str, Any]) -> LiveStatus:
        for name, values in diff.items():
            if isinstance(values, dict):
                self.objects.setdefault(str(name), {}).update(values)
        webhooks = self.objects.get("webhooks", {}).get("state")
        if isinstance(webhooks, str) and "webhooks" in diff:
            self.klippy_state = _klippy(webhooks)
        return self._changed()

    def snapshot(self) -> LiveStatus:
        stats = self.objects.get("print_stats", {})
        print_state = _choice(stats.get("state"), PrintState)
        progress = self._progress()
        duration = _number(stats.get("print_duration"))
        return LiveStatus(
            printer_id=self.printer_id,
            connection=self.connection,
            klippy_state=self.klippy_state,
            print_state=print_state,
            filename=_text(stats.get("filename")),
            progress=progress,
            print_duration=duration,
            estimated_time_left=_time_left(print_state, progress, duration),
            extruder=self._temperature("extruder"),
            bed=self._temperature("heater_bed"),
            message=self._message(),
            updated_at=self.updated_at or self.clock(),
            error_code=self.error_code,
            error_message=self.error_message,
        )

    def _changed(self) -> LiveStatus:
        self.updated_at = self.clock()
        return self.snapshot()

    def _progress(self) -> float | None:
        """display_status's (M73 when the slicer sends it, else the file position), else
        virtual_sdcard's; clamped to 0–1."""
        for name in ("display_status", "virtual_sdcard"):
            value = _number(self.objects.get(name, {}).get("progress"))
            if value is not None:
                return min(max(value, 0.0), 1.0)
        return None

    def _temperature(self, name: str) -> Temperature | None:
        values = self.objects.get(name)
        if not values:
            return None
        return Temperature(_number(values.get("temperature")), _number(values.get("target")))

    def _message(self) -> str | None:
        """Klippy's own message while it is not ready (why it shut down), else the
        display's (M117) or the print's."""
        if self.klippy_state not in (None, "ready"):
            message = _text(self.objects.get("webhooks", {}).get("state_message"))
            if message is not None:
                return message
        display = _text(self.objects.get("display_status", {}).get("message"))
        return display or _text(self.objects.get("print_stats", {}).get("message"))


def _time_left(state: str | None, progress: float | None, duration: float | None) -> float | None:
    """Extrapolated from the time printed so far (the "file" estimate of Mainsail and
    Fluidd): unknown until some progress is made."""
    if state not in ACTIVE_PRINT_STATES or not progress or duration is None:
        return None
    return max(duration / progress - duration, 0.0)


def _klippy(state: str | None) -> str | None:
    return _choice(state, KlippyState)


def _choice(value: Any, choices: type[enum.StrEnum]) -> str | None:
    """Moonraker's name when ``choices`` has it: a name added by a later Klipper reads as
    unknown (None), not as an error."""
    return value if isinstance(value, str) and value in set(choices) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
