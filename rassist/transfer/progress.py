"""Progress figures for events: bytes so far, rate over the last seconds, time left."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

INTERVAL = 0.2  # at most five progress events a second per transfer
WINDOW = 3.0  # the rate is measured over this many recent seconds


class Meter:
    def __init__(self, total: int, already: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = already  # bytes in place, counting what an earlier run left
        self.moved = 0  # bytes that travelled in this run
        self._clock = clock
        self.started = clock()
        self._samples: deque[tuple[float, int]] = deque([(self.started, already)])
        self._last_event = float("-inf")

    def add(self, count: int) -> None:
        self.done += count
        self.moved += count

    def skip(self, count: int) -> None:
        """Bytes that need not travel (already there): they count as done, not as moved."""
        self.done += count

    def due(self) -> bool:
        """Whether a progress event should go out now (and, if so, note that it did)."""
        now = self._clock()
        if now - self._last_event < INTERVAL:
            return False
        self._last_event = now
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW:
            self._samples.popleft()
        return True

    @property
    def elapsed(self) -> float:
        return self._clock() - self.started

    def rate(self) -> float:
        """Bytes per second lately."""
        now = self._clock()
        then, count = self._samples[0]
        if now - then <= 0:
            return 0.0
        return max(0.0, (self.done - count) / (now - then))

    def eta(self) -> float | None:
        rate = self.rate()
        if rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def fields(self) -> dict[str, float | int | None]:
        eta = self.eta()
        return {
            "total_bytes": self.done,
            "total_size": self.total,
            "rate": round(self.rate()),
            "eta": None if eta is None else round(eta, 1),
        }
