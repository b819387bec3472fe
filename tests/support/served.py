"""``gql-server serve`` in a child process on 127.0.0.1, for tests that need a whole
server of their own: signals, event-loop latency without the test's own threads
competing for the same interpreter, several processes on one database."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

GQL_SERVER = str(Path(sys.executable).with_name("gql-server"))
STARTUP_TIMEOUT = 30.0


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(log: Path, env: Mapping[str, str], args: Sequence[str] = ()) -> ServerProcess:
    """``env`` is added to this process's environment (DATABASE_URL at least); ``args``
    to serve's (``--workers 2``)."""
    port = free_port()
    command = [GQL_SERVER, "serve", "--no-bootstrap-key", "--host", "127.0.0.1", *args]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            # Live mode off unless a test asks: its sockets would sync the printers.
            env={**os.environ, "GQL_LOG_FORMAT": "text", "GQL_LIVE": "false", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(process, f"http://127.0.0.1:{port}", log)


def wait_healthy(server: ServerProcess, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy within {timeout} s:\n{server.output()}")


def stop(servers: list[ServerProcess], timeout: float) -> list[int | None]:
    """SIGTERM to all, a bounded wait, then SIGKILL for any still running (None)."""
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    deadline = time.monotonic() + timeout
    codes: list[int | None] = []
    for server in servers:
        try:
            codes.append(server.process.wait(max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
            codes.append(None)
    return codes


@contextmanager
def served(
    log: Path, env: Mapping[str, str], stop_timeout: float = 15.0
) -> Iterator[ServerProcess]:
    server = start_server(log, env)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop([server], stop_timeout)
