"""Run an ASGI app with uvicorn in a background thread on 127.0.0.1, for real HTTP."""

import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp


class LiveServer:
    """The port is bound before uvicorn starts, so ``url`` is known at once and no other
    process can take it in between. Start-up and shut-down are bounded in time."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        lifespan: str = "on",
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
        name: str = "live-server",
        on_stop: Callable[[], None] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.lifespan = lifespan
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self.name = name
        self.on_stop = on_stop
        self.config = config or {}  # uvicorn.Config arguments over the defaults below
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose
        # proto says TCP; without it every keep-alive answer waited 44 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        options: dict[str, Any] = {
            "log_config": None,
            "log_level": "warning",
            "access_log": False,
            "lifespan": self.lifespan,
            "ws": "none",
            "timeout_graceful_shutdown": 2,
        }
        config = uvicorn.Config(self.app, **{**options, **self.config})
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"{self.name}-{self.url}",
        )
        self._thread.start()
        self._wait_started()

    def _wait_started(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start within {self.startup_timeout} s")
            time.sleep(0.005)

    def stop(self) -> None:
        if self.on_stop is not None:
            self.on_stop()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(self.shutdown_timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(self.shutdown_timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
