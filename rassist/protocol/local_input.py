"""The person at the host machine wins: local input suspends remote input for a moment. Pure.

The host watches every input event the X server sees (media/local_input.py: XInput2 raw
events, which name the device each came from) and asks `LocalInputGuard` whether it was the
person at the machine:
- an event from a real device (any device but the server's XTEST ones) is local;
- an event from an XTEST device is ours only if it matches something our injector just sent
  (the same key or button, the same direction, within ECHO_WINDOW; a pointer motion matches
  any motion we sent): other programs that fake input (xdotool, an on-screen keyboard the
  person uses) share the XTEST device with us, and their events count as local too;
- key auto-repeats are not new input.
A local event suspends remote input for SUSPEND seconds after the last one: nothing the
controller sends is injected meanwhile, and what it holds is let go. `transition` reports each
change (paused, resumed) once, for the controller to be told.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

SUSPEND = 1.0  # s remote input stays suspended after the last local event
ECHO_WINDOW = 2.0  # s after injecting in which the X server's report of it may still arrive
MAX_EXPECTED = 4096  # echoes remembered at most (a flood of injected moves must not grow memory)

KINDS = ("key", "button", "motion")


@dataclass(frozen=True, slots=True)
class Observed:
    """One input event as the X server reports it."""

    kind: str  # "key" | "button" | "motion"
    detail: int  # keycode or button number; 0 for motion
    down: bool  # press (motion: True)
    xtest: bool  # it came from an XTEST device (faked), not a real one
    repeat: bool = False  # a key auto-repeat


class LocalInputGuard:
    """Decides what is local input and whether remote input may be injected now."""

    def __init__(self, suspend: float = SUSPEND, echo_window: float = ECHO_WINDOW) -> None:
        self.suspend = suspend
        self.echo_window = echo_window
        self.paused_until = float("-inf")
        self.local_events = 0
        self._expected: deque[tuple[float, str, int, bool]] = deque()
        self._reported_paused = False

    def injected(self, kind: str, detail: int, down: bool, now: float) -> None:
        """Our injector sent this (motion: detail 0, down True)."""
        if kind not in KINDS:
            raise ValueError(f"unknown input kind {kind!r}")
        self._expire(now)
        if len(self._expected) >= MAX_EXPECTED:
            self._expected.popleft()
        self._expected.append((now, kind, detail if kind != "motion" else 0, down if kind != "motion" else True))

    def observed(self, event: Observed, now: float) -> bool:
        """The X server saw this event; True when it is local input (it suspends remote input)."""
        if event.repeat:
            return False
        if event.xtest and self._consume(event, now):
            return False
        self.local_events += 1
        self.paused_until = max(self.paused_until, now + self.suspend)
        return True

    def allows(self, now: float) -> bool:
        """May remote input be injected now?"""
        return now >= self.paused_until

    def transition(self, now: float) -> str | None:
        """"paused" or "resumed" when that changed since the last call, else None."""
        paused = not self.allows(now)
        if paused == self._reported_paused:
            return None
        self._reported_paused = paused
        return "paused" if paused else "resumed"

    def _consume(self, event: Observed, now: float) -> bool:
        self._expire(now)
        detail = event.detail if event.kind != "motion" else 0
        down = event.down if event.kind != "motion" else True
        for i, (_, kind, d, dn) in enumerate(self._expected):
            if kind == event.kind and d == detail and dn == down:
                del self._expected[i]
                return True
        return False

    def _expire(self, now: float) -> None:
        while self._expected and self._expected[0][0] < now - self.echo_window:
            self._expected.popleft()
