"""What a printer is doing now, from live mode (services/live)."""

from datetime import datetime

import strawberry

from gql_server.services.live import Connection, KlippyState, PrintState
from gql_server.services.live import LiveStatus as LiveState
from gql_server.services.live import Temperature as HeaterState

# The states are declared once, in services/live/state.py; these give them their GraphQL
# names and descriptions (member names: CONNECTED, READY, PRINTING, ...).
strawberry.enum(
    Connection,
    name="LiveConnection",
    description="The state of the server's websocket to the printer's Moonraker.",
)
strawberry.enum(KlippyState, description="Klipper's state as Moonraker reports it.")
strawberry.enum(PrintState, description="Klipper's print_stats state.")


@strawberry.type(description="A heater's temperature and target, in °C.")
class Temperature:
    temperature: float | None
    target: float | None


@strawberry.type(name="LiveStatusError", description="Why the printer is not connected.")
class LiveStatusError:
    code: str
    message: str


@strawberry.type(description="A printer's live state, merged from its Moonraker websocket.")
class LiveStatus:
    connection: Connection
    klippy_state: KlippyState | None
    print_state: PrintState | None
    filename: str | None = strawberry.field(description="The file loaded to print; null when none.")
    progress: float | None = strawberry.field(description="0 to 1.")
    print_duration: float | None = strawberry.field(description="Seconds printed so far.")
    estimated_time_left: float | None = strawberry.field(
        description="Seconds, extrapolated from the progress made; null until there is some."
    )
    extruder: Temperature | None = strawberry.field(
        description="Null until Moonraker reports it, and on a printer without one."
    )
    bed: Temperature | None = strawberry.field(description="As extruder.")
    message: str | None = strawberry.field(
        description="Klippy's own message while it is not ready (why it shut down), else "
        "the display's (M117) or the print's."
    )
    updated_at: datetime = strawberry.field(
        description="When this state last changed: a Moonraker update or the connection."
    )
    error: LiveStatusError | None = strawberry.field(
        description="Why the connection is OFFLINE or AUTH_FAILED; null while connected."
    )


def live_status_from(state: LiveState) -> LiveStatus:
    return LiveStatus(
        connection=Connection(state.connection),
        klippy_state=None if state.klippy_state is None else KlippyState(state.klippy_state),
        print_state=None if state.print_state is None else PrintState(state.print_state),
        filename=state.filename,
        progress=state.progress,
        print_duration=state.print_duration,
        estimated_time_left=state.estimated_time_left,
        extruder=_temperature(state.extruder),
        bed=_temperature(state.bed),
        message=state.message,
        updated_at=state.updated_at,
        error=None
        if state.error_code is None
        else LiveStatusError(code=state.error_code, message=state.error_message or ""),
    )


def _temperature(heater: HeaterState | None) -> Temperature | None:
    if heater is None:
        return None
    return Temperature(temperature=heater.temperature, target=heater.target)
