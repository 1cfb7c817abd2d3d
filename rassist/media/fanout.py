"""One screen encoder, several viewers: who gets which frame, when the next one is made, at what
rate. Pure: no I/O, no clock reads, no asyncio or aiortc (screen_source.py is the glue).

The rate policy, with H.264's reference frames in mind (every P-frame refers to the one before
it, so a viewer can skip frames only up to the next keyframe, never one in the middle):
- Timing: the shared encoder makes the next frame once every viewer's sender has asked for one
  (the single viewer's pull model, unchanged), but waits at most LAG_LIMIT for the slowest
  after the first has asked. A viewer that missed that stops holding the others back ("not
  gating") until its sender asks again with nothing queued; meanwhile its frames queue for it.
- Rate: the encoder follows the slowest viewer in good standing (the smallest LinkEstimator
  target), but never below FLOOR_FRACTION of the fastest: one thin link slows everybody's
  frames down to its size, within reason, and one very thin (or stalled) link cannot.
- Overflow: a viewer whose queue holds more than QUEUE_SECONDS of its own link (or QUEUE_FRAMES
  frames) drops the whole queue and every frame after it up to the next keyframe; it is then
  out of the rate and the timing until it has that keyframe. It asks for the keyframe only once
  its sender has drained (a stalled viewer never asks, so it cannot cause a keyframe a second
  for everybody), through the shared KeyframeLimiter (at most one a second).
- Joining: a new viewer needs a keyframe before anything else decodes; it asks at once and the
  limiter lets that through without waiting out its interval (FanoutLimiter.demand urgent).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from rassist.media.ratecontrol import KeyframeLimiter

LAG_LIMIT = 0.3  # s the encoder waits for a slower viewer's sender after the first one asked
QUEUE_SECONDS = 2.0  # s of a viewer's link its queue may hold before it skips to a keyframe
QUEUE_FRAMES = 120  # frames a viewer's queue may hold whatever their size (an idle, stalled link)
FLOOR_FRACTION = 0.25  # the shared rate never goes below this fraction of the fastest viewer's


@dataclass(frozen=True, slots=True)
class Frame:
    data: bytes  # one encoded H.264 access unit (Annex B)
    keyframe: bool


class ViewerQueue:
    """One viewer's frames waiting for its sender, and its standing with the shared encoder."""

    def __init__(self, queue_seconds: float = QUEUE_SECONDS, queue_frames: int = QUEUE_FRAMES) -> None:
        self.queue_seconds = queue_seconds
        self.queue_frames = queue_frames
        self.frames: deque[Frame] = deque()
        self.queued_bytes = 0
        self.need_key = True  # nothing decodes before a keyframe (a new viewer, or after overflow)
        self.gating = True  # the encoder waits (up to LAG_LIMIT) for this viewer's sender
        self.ready_since: float | None = None  # its sender asked for a frame with nothing queued
        self.asked = False  # it asked for the keyframe it needs
        self.overflows = 0
        self.dropped = 0  # frames this viewer never got

    def offer(self, frame: Frame, link_rate: float) -> bool:
        """A new frame from the encoder; False when this viewer skips it. `link_rate` in bit/s."""
        if frame.keyframe:
            # Everything older is superseded: a viewer behind jumps straight to the new picture.
            self.dropped += len(self.frames)
            self.frames.clear()
            self.queued_bytes = 0
            self.need_key = False
            self.asked = False
        elif self.need_key:
            self.dropped += 1
            return False
        self.frames.append(frame)
        self.queued_bytes += len(frame.data)
        self.ready_since = None
        if len(self.frames) > 1 and (len(self.frames) > self.queue_frames
                                     or self.queued_bytes * 8.0 / max(link_rate, 1.0) > self.queue_seconds):
            self.dropped += len(self.frames)
            self.frames.clear()
            self.queued_bytes = 0
            self.need_key = True
            self.gating = False
            self.overflows += 1
            return False
        return True

    def take(self) -> Frame | None:
        """The next frame for the sender, or None (then call `waiting`)."""
        if not self.frames:
            return None
        frame = self.frames.popleft()
        self.queued_bytes -= len(frame.data)
        return frame

    def waiting(self, now: float) -> bool:
        """The sender asks for a frame and none is queued. True when this viewer should now ask
        the encoder for a keyframe (once per need)."""
        if self.ready_since is None:
            self.ready_since = now
        self.gating = True
        if self.need_key and not self.asked:
            self.asked = True
            return True
        return False

    @property
    def in_standing(self) -> bool:
        """Receiving every frame (not skipping to a keyframe)."""
        return not self.need_key


def gate(queues: Sequence[ViewerQueue], now: float) -> float | None:
    """May the encoder make the next frame? 0.0: now; > 0: ask again in that many seconds;
    None: no sender wants a frame (wait until one asks). Viewers that keep the others waiting
    past LAG_LIMIT stop gating (see the module comment)."""
    ready = [q for q in queues if q.ready_since is not None]
    if not ready:
        return None
    blocking = [q for q in queues if q.gating and q.in_standing and q.ready_since is None]
    if not blocking:
        return 0.0
    wait = min(q.ready_since for q in ready if q.ready_since is not None) + LAG_LIMIT - now
    if wait > 0:
        return wait
    for q in blocking:
        q.gating = False
    return 0.0


def shared_rate(standing: Sequence[int], everyone: Sequence[int], default: int) -> int:
    """The encoder's target in bit/s from the viewers' link targets: the slowest in good
    standing, at least FLOOR_FRACTION of the fastest; `default` with no viewer at all."""
    if not everyone:
        return default
    rates = standing or everyone
    return int(max(min(rates), max(everyone) * FLOOR_FRACTION))


class FanoutLimiter(KeyframeLimiter):
    """The shared encoder's keyframe limiter. Viewers' PLI/FIR go through `request` (ignored
    while a keyframe is in flight, at most one a second, as for a single viewer); the fan-out's
    own needs through `demand`: a viewer that is known to hold no keyframe is never "too early",
    and a new viewer's (`urgent`) does not wait out the interval either."""

    def __init__(self, interval: float | None = None) -> None:
        super().__init__() if interval is None else super().__init__(interval)
        self.urgent = False

    def demand(self, now: float, urgent: bool = False) -> None:
        self.requests += 1
        self.wanted = True
        self.urgent = self.urgent or urgent

    def due(self, now: float) -> float | None:
        if self.wanted and self.urgent:
            return 0.0
        return super().due(now)

    def sent(self, now: float, send_seconds: float, rtt: float, frame_time: float) -> None:
        super().sent(now, send_seconds, rtt, frame_time)
        self.urgent = False
