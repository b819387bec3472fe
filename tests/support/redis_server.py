"""A real redis-server for the broker tests, on a free 127.0.0.1 port, without persistence.

It can be stopped and started again on the same port (the broker's outage and return).
No pytest import here, as in the other support modules.
"""

import shutil
import subprocess
import time
from pathlib import Path
from typing import Self

from tests.support.served import free_port

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def redis_binary() -> str | None:
    """redis-server, when it and redis-cli (the readiness probe) are installed."""
    return shutil.which("redis-server") if shutil.which("redis-cli") else None


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        binary = redis_binary()
        assert binary is not None, "redis-server is not installed"
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.answers():
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def answers(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "ping"],
            capture_output=True,
            timeout=5,
            check=False,
        )
        return done.stdout.strip() == b"PONG"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
