"""The failed-authentication throttle: per client address, in memory, per process."""

import threading
import time
from collections import deque
from collections.abc import Callable


class FailureThrottle:
    """At most ``limit`` failed authentications per client address per ``window`` seconds.

    In memory, per process: it slows down guessing from one address without a shared
    store; the 2**256 key space is the real defence.
    """

    def __init__(
        self,
        *,
        limit: int = 20,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.get(address)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
        return failures

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it is not blocked."""
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return None
            return max(1, int(failures[0] + self.window - now + 0.999))

    def record_failure(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            if address not in self._failures and len(self._failures) >= self._max_addresses:
                self._failures.pop(next(iter(self._failures)))  # bounded memory: drop oldest
            self._failures.setdefault(address, deque()).append(now)
