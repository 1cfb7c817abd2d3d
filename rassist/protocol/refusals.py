"""Refused messages from a peer, counted and reported a few at a time. Pure: times come in.

Used for remote input and annotations: a flood of bad events shows up as a few lines with
counts, on the host and (as a message) on the peer, instead of thousands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Refusal(Protocol):
    """Any refusal with a reason to count it under (input, annotations)."""
    reason: str


@dataclass(slots=True)
class RefusalReport:
    """Refusals of one reason since the last report, for the host's eyes."""

    reason: str
    count: int
    message: str


class RefusalReporter:
    """Turns a stream of refusals into at most one report per reason per `interval` seconds,
    so that a flood shows up as a few lines with counts instead of thousands."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._pending: dict[str, tuple[int, str]] = {}
        self._last: dict[str, float] = {}

    def refused(self, error: Refusal, now: float) -> RefusalReport | None:
        count, _ = self._pending.get(error.reason, (0, ""))
        self._pending[error.reason] = (count + 1, str(error))
        last = self._last.get(error.reason)
        if last is None or now - last >= self.interval:
            return self._take(error.reason, now)
        return None

    @property
    def waiting(self) -> bool:
        """Whether some refusals are counted but not reported yet."""
        return bool(self._pending)

    def due(self, now: float) -> list[RefusalReport]:
        """Reports whose interval has passed."""
        return [self._take(reason, now) for reason in list(self._pending)
                if now - self._last.get(reason, now - self.interval) >= self.interval]

    def flush(self, now: float) -> list[RefusalReport]:
        """Everything still unreported (at the end of control or of the session)."""
        return [self._take(reason, now) for reason in list(self._pending)]

    def _take(self, reason: str, now: float) -> RefusalReport:
        count, message = self._pending.pop(reason)
        self._last[reason] = now
        return RefusalReport(reason, count, message)
