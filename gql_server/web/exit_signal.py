"""Hear SIGTERM and SIGINT in the app as soon as uvicorn does.

uvicorn (0.54, ``Server.shutdown``) answers SIGTERM by closing its sockets, then waits up
to ``timeout_graceful_shutdown`` for in-flight requests, and only then runs the lifespan's
shutdown. A ``syncPrinters`` request stuck on a hung printer therefore held the process
for the whole grace, and its client got a dropped connection when uvicorn cancelled it.
The lifespan starts inside uvicorn's ``capture_signals``, after it installed its handler:
wrapping that handler lets the app start stopping its syncs at once, while uvicorn still
does its own part.
"""

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import anyio

from gql_server.config import Settings
from gql_server.services.sync import PeriodicSync, Syncer

EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What signal.getsignal returns: a handler, SIG_DFL / SIG_IGN, or None (not set from Python).
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
# The end of the shutdown grace kept for cancelled syncs to close their runs and for
# their requests to answer.
SHUTDOWN_MARGIN_S = 5.0


def on_exit_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` in the running event loop when SIGINT or SIGTERM arrives, then
    the handler that was there before. Returns the undo. Outside the main thread (the
    tests' in-thread servers) signals cannot be handled, and this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, _Handler] = {sig: signal.getsignal(sig) for sig in EXIT_SIGNALS}

    def handle(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(callback)
        chained = previous[sig]
        if callable(chained):
            chained(sig, frame)
        elif chained == signal.SIG_DFL:  # not under uvicorn: die as we would have
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)

    for sig in EXIT_SIGNALS:
        signal.signal(sig, handle)

    def undo() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is handle:
                signal.signal(sig, handler)

    return undo


async def stop_syncs_on_exit(
    exiting: anyio.Event,
    stopped: anyio.Event,
    syncer: Syncer,
    periodic: PeriodicSync | None,
    settings: Settings,
) -> None:
    """On SIGTERM: no new sync; running ones get most of the grace to finish, then are
    cancelled, so that syncPrinters answers SHUTTING_DOWN before uvicorn's grace (the
    same ``shutdown_grace``) runs out and it drops the connection. ``stopped`` is set
    once no sync runs any more."""
    await exiting.wait()
    if periodic is not None:
        periodic.request_stop()
    margin = min(SHUTDOWN_MARGIN_S, settings.shutdown_grace / 2)
    try:
        await syncer.shut_down(settings.shutdown_grace - margin)
    finally:
        stopped.set()
