"""The retry policy's parts: the shared 429 gate, Retry-After, backoff."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_BACKOFF = 60.0


class RateGate:
    """A gate every request waits at; a 429 closes it for everyone sharing this client."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._until = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)

    def wait(self) -> float:
        """Block until the gate opens; return how long that took."""
        waited = 0.0
        while True:
            with self._lock:
                delay = self._until - self._clock()
            if delay <= 0:
                return waited
            self._sleep(delay)
            waited += delay


@dataclass
class Retry:
    """A retry about to happen, for progress display."""

    attempt: int
    delay: float
    reason: str
    # What the request is for (`line 12` of a prompt file), when the caller said.
    label: str | None = None


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The server's requested delay from retry-after-ms or Retry-After (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def backoff(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: ~0.5 s, 1 s, 2 s ... capped at 60 s."""
    base = min(MAX_BACKOFF, 0.5 * 2 ** (attempt - 1))
    return base * (1 - 0.25 * rand())
