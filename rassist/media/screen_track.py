"""The host's screen as an aiortc video track that sends frames only when the screen changes.

The track returns encoded H.264 packets (see codec.py). When to encode is decided by
`SendPolicy`, a small pure state machine:
- a changed frame goes out as soon as the frame rate allows (the rate follows the link:
  ratecontrol.LinkEstimator; motion may get more frames, ratecontrol.FrameRate); a big change
  after rest waits briefly while it is still being painted, so a new screen goes in one frame
  rather than a half-painted one and then the whole;
- after a change the same picture is encoded again ("refinement") until the encoder has nothing
  left to add: the first frame after a big change is capped by the bandwidth (VBV) and the
  following ones sharpen it (during motion only once it pauses, MOTION_PAUSE). Refinement is
  budgeted in bytes and seconds, not frames: on a thin link a readable 1080p text screen needs
  ~450 kB, which takes many capped frames. It ends with a tiny frame, which matters: aiortc's
  receiver hands a frame to its decoder only when the first packet of the next one arrives;
- a keyframe request (PLI/FIR) is answered as soon as ratecontrol.KeyframeLimiter allows (at
  most one a second, none while one is in flight), even on an idle screen;
- an idle screen still sends a tiny frame REFRESH seconds after the last one, so a receiver that
  lost packets notices (NACK, then PLI) and recovers; further ones back off to REFRESH_MAX while
  they stay tiny (they only guard the keep-alives before them, and each is a full-screen encode
  of CPU); one that still sharpened the picture keeps the next at REFRESH.
The sender paces its packets (codec.pace) and asks for the next frame once at most 0.1 s of
the previous one is left to send: the next frame is encoded while this one leaves, and the
encoder never runs further ahead of the link than that.
Capture, colour conversion and encoding run in threads; the event loop only waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc import RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rassist.media.capture import Monitor, ScreenCapturer, ScreenUpdate
from rassist.media.codec import AUD, TIME_BASE, ScreenEncoder, SenderFeedback, pace, prefer_h264, rtp_packet
from rassist.media.ratecontrol import WIRE_OVERHEAD, FrameRate, KeyframeLimiter, LinkEstimator, Pacer

REFRESH = 2.0  # seconds from the last frame to the first keep-alive frame on an idle screen;
REFRESH_MAX = 8.0  # each further tiny one waits twice as long, up to this (each costs a 1080p encode)
REFRESH_DETAIL = 16_000  # a keep-alive bigger than this still sharpened the picture: the next at REFRESH
# (keep-alives of a settled 1080p text screen measured 0.6-7.5 kB: libx264 trickles in detail)
SETTLED_BYTES = 4000  # a re-encoded still picture this small means the encoder has converged (an
# all-skip 1080p frame without CABAC is ~2.6 kB)
REFINE_BYTES = 2_000_000  # most bytes spent sharpening one still picture (a readable 1080p is ~450 kB)
REFINE_SECONDS = 30.0  # and for at most this long after the change
# A big change after rest (an application painting a new screen, band by band) waits while it is
# still growing, up to SETTLE_MAX: sent half-painted, the first part would go twice on a thin
# link (once in its own frame, again in the new screen's keyframe).
SETTLE_FROM = 0.2  # fraction of the screen changed
SETTLE_STEP = 0.03  # s between looks at whether it is still growing
SETTLE_MAX = 0.15  # s
# During motion (new pictures in a row) the latest one is re-encoded only once no newer picture
# came for this long: a re-encode costs a whole encode's time (~25 ms at 1080p) and holds the
# next picture back by as much; a third of the encodes went that way during motion.
MOTION_PAUSE = 0.1  # s
RTP_STEP = TIME_BASE.denominator // 30  # RTP timestamps only order frames here; keep them 30 fps-like


@dataclass(frozen=True)
class Action:
    kind: str  # "frame" | "keyframe" | "refine" | "refresh"


class SendPolicy:
    """Decides what to encode next. Pure: the caller passes the clock and reports what it sent."""

    def __init__(self, limiter: KeyframeLimiter | None = None) -> None:
        self.limiter = limiter or KeyframeLimiter()
        self.last_send = float("-inf")
        self.refining = False
        self.refine_until = float("-inf")
        self.refine_bytes = 0
        self.small_in_row = 0
        self.frames_in_row = 0  # new pictures sent in a row: motion
        self.sent_seq = 0
        self.last_kind = "refresh"  # what was sent last: "refine"/"refresh" mean the screen was at rest
        self.refreshes = 0  # keep-alive frames in a row (the next one waits longer)
        self._settle: tuple[float, float] | None = None  # (waiting since, changed fraction then)

    def next_action(self, latest_seq: int, now: float, fps: float, changed: float = 0.0) -> Action | float:
        """An Action to do now, or how many seconds to wait before asking again. `changed`: the
        fraction of the screen changed and not yet sent."""
        if latest_seq == 0:
            return REFRESH  # nothing captured yet
        keyframe_in = self.limiter.due(now)
        if keyframe_in == 0.0:
            return Action("keyframe")  # a viewer is frozen or grey until it comes
        step = self._next_frame(latest_seq, now, fps)
        if step == Action("frame") and self.last_kind in ("refine", "refresh") and SETTLE_FROM <= changed < 0.5:
            since, before = self._settle or (now, -1.0)
            self._settle = (since, changed)
            if changed > before and now < since + SETTLE_MAX:
                return SETTLE_STEP  # still being painted
        if isinstance(step, Action) or keyframe_in is None:
            return step
        return min(step, keyframe_in)

    def _next_frame(self, latest_seq: int, now: float, fps: float) -> Action | float:
        due = self.last_send + 1.0 / fps
        refine = self.refining and now < self.refine_until and self.refine_bytes > 0
        if latest_seq == self.sent_seq and refine and self.frames_in_row >= 2:
            due = max(due, self.last_send + MOTION_PAUSE)
        if latest_seq != self.sent_seq or refine:
            if now < due:
                return due - now
            return Action("frame" if latest_seq != self.sent_seq else "refine")
        refresh_due = self.last_send + min(REFRESH * 2 ** self.refreshes, REFRESH_MAX)
        if now < refresh_due:
            return refresh_due - now
        return Action("refresh")

    def sent(self, action: Action, seq: int, nbytes: int, now: float, room: bool = True) -> None:
        """`room`: the encoder could have spent much more on this frame (codec.had_room)."""
        self.last_send = now
        self.sent_seq = seq
        self.last_kind = action.kind
        self.frames_in_row = self.frames_in_row + 1 if action.kind == "frame" else 0
        # A keep-alive that still carried much detail (the picture was not done) keeps them coming.
        self.refreshes = self.refreshes + 1 if action.kind == "refresh" and nbytes <= REFRESH_DETAIL else 0
        self._settle = None
        if action.kind in ("frame", "keyframe"):
            self.refining = True
            self.refine_until = now + REFINE_SECONDS
            self.refine_bytes = REFINE_BYTES
            self.small_in_row = 0
        elif action.kind == "refine":
            # Two small frames in a row, each with room in the VBV buffer for much more, mean the
            # encoder has nothing left to add to this picture. Small frames right after a big one
            # (its buffer empty) say nothing: stopping there left screens blurred for good.
            self.refine_bytes -= nbytes
            if nbytes > SETTLED_BYTES:
                self.small_in_row = 0
            elif room:
                self.small_in_row += 1
            self.refining = self.small_in_row < 2


def attach_sender(track: ScreenTrack, transceiver: RTCRtpTransceiver) -> SenderFeedback:
    """Wire a screen track to its transceiver: H.264 only, RTCP feedback in, paced packets out."""
    prefer_h264(transceiver)
    feedback = SenderFeedback(track.request_keyframe, track.controller)
    feedback.attach(transceiver.sender)
    pace(transceiver.sender, track.pacer, lambda: track.controller.pace_rate)
    return feedback


class ScreenTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, monitor: Monitor, controller: LinkEstimator | None = None, crf: int = 20,
                 with_cursor: bool = True, on_error: Callable[[BaseException], None] | None = None,
                 limiter: KeyframeLimiter | None = None) -> None:
        super().__init__()
        self.monitor = monitor
        self.controller = controller or LinkEstimator()
        self.limiter = limiter or KeyframeLimiter()
        self.pacer = Pacer(overhead=WIRE_OVERHEAD)
        self.encoder = ScreenEncoder(self.controller.settings(), crf=crf)
        self.capturer = ScreenCapturer(monitor, self._captured, max_fps=self.controller.max_fps,
                                       with_cursor=with_cursor)
        self.on_error = on_error
        self.policy = SendPolicy(self.limiter)
        self.frame_rate = FrameRate()  # motion may get more frames than the ladder's (ratecontrol)
        self.frames_sent = 0
        self.bytes_sent = 0
        self.encode_seconds = 0.0  # wall time of conversion + encoding, worker thread
        self.convert_seconds = 0.0  # of which colour conversion
        self.log: Callable[[str], None] | None = None  # debugging: one line per encoded frame
        self._pending: list[ScreenUpdate] = []
        self._latest_seq = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._encoder_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rassist-encode")
        self._started = False
        self._released = asyncio.Event()
        self._released.set()
        self._t0 = time.monotonic()
        self._last_pts = -1
        self._rtp_pts = 0
        self._filler_due = False

    def hold(self) -> None:
        """Capture nothing until release(): the session may not have granted viewing yet."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def wake(self) -> None:
        """Look at the keyframe limiter again now (a viewer joined, see screen_source.py)."""
        self._wake.set()

    # Called on the event loop (SenderFeedback) when the receiver asks for a keyframe.
    def request_keyframe(self) -> None:
        self.limiter.request(time.monotonic())
        self._wake.set()

    def _captured(self, update: ScreenUpdate) -> None:  # capture thread
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._new_update, update)

    def _new_update(self, update: ScreenUpdate) -> None:
        if update.full:
            self._pending.clear()
        self._pending.append(update)
        self._latest_seq = update.seq
        self._wake.set()

    def _pending_area(self) -> float:
        """Fraction of the screen the pending updates cover (overlaps counted twice)."""
        area = sum(u.pixels.shape[0] * u.pixels.shape[1] for u in self._pending)
        return min(1.0, area / max(1, self.monitor.width * self.monitor.height))

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._started = True
        # mss and python-xlib connect to X here: keep that off the event loop too.
        await self._loop.run_in_executor(None, self.capturer.start)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._filler_due:
            self._filler_due = False
            return rtp_packet(AUD, self._rtp_pts)
        if not self._started:
            await self._released.wait()
            if self.readyState != "live":
                raise MediaStreamError
            await self._start()
        while True:
            if self.capturer.error is not None:
                self._fail(self.capturer.error)
            settings = self.controller.settings(time.monotonic())
            motion_fps = self.frame_rate.fps(settings, time.monotonic(), self.controller.max_fps,
                                             self.controller.clean())
            self.capturer.max_fps = motion_fps
            # A new picture at the motion's rate; re-encodes of a still one at the ladder's.
            fps = motion_fps if self._latest_seq != self.policy.sent_seq else settings.fps
            step = self.policy.next_action(self._latest_seq, time.monotonic(), fps, self._pending_area())
            if not isinstance(step, Action):
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=min(step, 0.25))
                except asyncio.TimeoutError:
                    pass
                if self.readyState != "live":
                    raise MediaStreamError
                continue
            self.encoder.configure(settings)
            seq = self._latest_seq
            updates, self._pending = self._pending, []
            began = time.monotonic()  # the frame interval runs from here, not from the end
            # A reopen makes a keyframe: only when one is going anyway or the limiter would allow it.
            may_reopen = step.kind == "keyframe" or began >= self.limiter.last_sent + self.limiter.interval
            # A still picture (sharpening or refresh) is not worth a keyframe for a new rate alone.
            still = step.kind in ("refine", "refresh")
            data = await self._encode(updates, step.kind == "keyframe", still, may_reopen)
            now = time.monotonic()
            # A keyframe the encoder made on its own (it reopened) starts a new picture to sharpen.
            self.policy.sent(Action("keyframe") if self.encoder.last_keyframe else step, seq, len(data), began,
                             room=self.encoder.had_room)
            if self.log is not None:
                self.log(f"{now - self._t0:.3f} {step.kind}{'+key' if self.encoder.last_keyframe else ''} "
                         f"seq={seq} updates={len(updates)} {len(data)}B")
            if not data:
                continue
            if self.encoder.last_keyframe:  # asked for, or the encoder reopened
                self.limiter.sent(now, len(data) * 8 / self.controller.pace_rate,
                                  self.controller.rtt or 0.1, 1.0 / settings.fps)
            self.frames_sent += 1
            self.bytes_sent += len(data)
            self.controller.on_sent(len(data), now)
            if step.kind == "frame" and not self.encoder.last_keyframe:
                self.frame_rate.on_frame(len(data), now)
            packet = rtp_packet(data, self._rtp_pts)
            self._rtp_pts += RTP_STEP
            self._filler_due = True
            return packet

    def _encode_updates(self, updates: list[ScreenUpdate], pts: int, keyframe: bool, refining: bool,
                        may_reopen: bool) -> bytes:
        start = time.perf_counter()
        for u in updates:
            self.encoder.apply(u.x, u.y, u.pixels, full=u.full)
        self.convert_seconds += time.perf_counter() - start
        return self.encoder.encode(pts, keyframe, refining, may_reopen)

    async def _encode(self, updates: list[ScreenUpdate], keyframe: bool, refining: bool,
                      may_reopen: bool) -> bytes:
        pts = max(self._last_pts + 1, int((time.monotonic() - self._t0) * TIME_BASE.denominator))
        self._last_pts = pts
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        try:
            data = await loop.run_in_executor(self._encoder_thread, self._encode_updates, updates, pts, keyframe,
                                              refining, may_reopen)
        except RuntimeError:  # executor shut down by stop()
            raise MediaStreamError from None
        self.encode_seconds += time.perf_counter() - start
        return data

    def _fail(self, exc: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(exc)
        self.stop()
        raise MediaStreamError(str(exc))

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
        self._wake.set()
        self._released.set()
        self.capturer.stop(wait=False)  # the thread notices within 0.1 s; do not block the loop
        self._encoder_thread.shutdown(wait=False)
