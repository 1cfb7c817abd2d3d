"""The host's screen captured once and encoded once for every viewer (issue 13).

`ScreenSource` is made once per host session. It drives one ScreenTrack (capture, the shared
ScreenEncoder, SendPolicy, the keyframe limiter: everything a single viewer has) from a pump
task, and hands each encoded frame to every viewer's `ViewerTrack`. A ViewerTrack is what one
viewer's RTCRtpSender sends: its own queue, RTP timestamps, LinkEstimator, pacer and RTCP
feedback; a PLI/FIR from any viewer reaches the shared limiter. Which frames a viewer gets and
when the encoder may make the next one: fanout.py (the rate policy is described there).

With one viewer this is the single-viewer pull model: the encoder makes a frame when that
viewer's sender asks for one, at that viewer's rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import av
from aiortc import RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rassist.errors import RassistError
from rassist.media.codec import AUD, TIME_BASE, SenderFeedback, pace, prefer_h264, rtp_packet
from rassist.media.fanout import FanoutLimiter, Frame, ViewerQueue, gate, shared_rate
from rassist.media.ratecontrol import WIRE_OVERHEAD, LinkEstimator, Pacer, RateSettings

if TYPE_CHECKING:
    from rassist.media.capture import Monitor
    from rassist.media.codec import ScreenEncoder
    from rassist.media.screen_track import ScreenTrack

RTP_STEP = TIME_BASE.denominator // 30  # as screen_track: RTP timestamps only order frames
ErrorCallback = Callable[[BaseException], None]


class SharedEstimator(LinkEstimator):
    """What the shared ScreenTrack sees as its link: the rate the viewers' links allow together
    (fanout.shared_rate), mapped onto the same degradation ladder with the same hysteresis.
    The viewers' own estimators take the RTCP feedback and count what they send."""

    def __init__(self, source: ScreenSource) -> None:
        super().__init__()
        self._source = source

    def on_sent(self, nbytes: int, now: float) -> None:
        pass  # each ViewerTrack tells its own estimator what it handed to its sender

    def settings(self, now: float | None = None) -> RateSettings:
        viewers = self._source.viewers
        if viewers:
            standing = [v.controller.target for v in viewers if v.queue.in_standing]
            self.target = shared_rate(standing, [v.controller.target for v in viewers], self.target)
            rtts = [v.controller.rtt for v in viewers if v.controller.rtt is not None]
            self.rtt = max(rtts) if rtts else None
        return super().settings(now)

    def clean(self) -> bool:
        return all(v.controller.clean() for v in self._source.viewers if v.queue.in_standing)


class ScreenSource:
    """One monitor (None: the primary), captured and encoded once for all the session's viewers.
    Capture starts with the first viewer and stops when the last one leaves."""

    def __init__(self, monitor: int | None = None, with_cursor: bool = True) -> None:
        from rassist.media.capture import NoDisplayError, pick_monitor

        self.with_cursor = with_cursor
        self.monitor: Monitor | None = None
        self.error: RassistError | None = None
        try:
            self.monitor = pick_monitor(monitor)
        except NoDisplayError as exc:
            self.error = exc  # each HostScreen reports it once its session is up
        self.viewers: list[ViewerTrack] = []
        self.estimator = SharedEstimator(self)
        self.limiter = FanoutLimiter()
        self.track: ScreenTrack | None = None
        self.frames = 0  # encoded once, whatever the number of viewers
        self.keyframes = 0
        self._ready = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None

    def viewer(self, on_error: ErrorCallback | None = None) -> ViewerTrack:
        """A new viewer's track (it receives nothing until `release()`d)."""
        if self.monitor is None:
            raise self.error or RassistError("no display to capture")
        return ViewerTrack(self, on_error)

    @property
    def encoder(self) -> ScreenEncoder | None:
        return self.track.encoder if self.track is not None else None

    # ------------------------------------------------------------ viewers

    def _subscribe(self, viewer: ViewerTrack) -> None:
        if viewer in self.viewers:
            return
        self.viewers.append(viewer)
        if self.track is None:
            from rassist.media.screen_track import ScreenTrack

            assert self.monitor is not None
            self.track = ScreenTrack(self.monitor, controller=self.estimator, with_cursor=self.with_cursor,
                                     on_error=self._failed, limiter=self.limiter)
            self._pump_task = asyncio.ensure_future(self._pump(self.track))
        # A new viewer decodes nothing before a keyframe: ask for one now, past the interval.
        self.limiter.demand(time.monotonic(), urgent=True)
        self.track.wake()

    def _unsubscribe(self, viewer: ViewerTrack) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        self._ready.set()
        if not self.viewers:
            self._stop_track()

    def _keyframe_requested(self) -> None:  # a viewer's PLI/FIR
        self.limiter.request(time.monotonic())
        if self.track is not None:
            self.track.wake()

    def _keyframe_needed(self) -> None:  # a viewer that skipped frames has drained its sender
        self.limiter.demand(time.monotonic())
        if self.track is not None:
            self.track.wake()

    def _viewer_ready(self) -> None:
        self._ready.set()

    # ------------------------------------------------------------ the pump

    async def _pump(self, track: ScreenTrack) -> None:
        track.release()
        try:
            while True:
                step = gate([v.queue for v in self.viewers], time.monotonic())
                if step != 0.0:
                    self._ready.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._ready.wait(), step)
                    continue
                packet = await track.recv()
                data = bytes(packet)
                if data == AUD:
                    continue  # each viewer sends its own filler after each frame
                frame = Frame(data, track.encoder.last_keyframe)
                self.frames += 1
                self.keyframes += frame.keyframe
                for viewer in list(self.viewers):
                    viewer.push(frame)
        except MediaStreamError:
            pass
        finally:
            if self.track is track:
                self._stop_track()

    def _failed(self, exc: BaseException) -> None:
        for viewer in list(self.viewers):
            viewer.fail(exc)

    def _stop_track(self) -> None:
        track, self.track = self.track, None
        if track is not None:
            track.stop()
        task, self._pump_task = self._pump_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # A session-wide feature (the host's shared features): nothing per connection; stopped at the end.
    def prepare(self, pc: object, role: str) -> None:
        pass

    async def start(self, session: object) -> None:
        pass

    async def stop(self) -> None:
        await self.close()

    async def close(self) -> None:
        """The host session ends: stop every viewer, capture and encoding."""
        for viewer in list(self.viewers):
            viewer.stop()
        task = self._pump_task
        self._stop_track()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class ViewerTrack(MediaStreamTrack):
    """One viewer's video track, fed from the shared ScreenSource."""

    kind = "video"

    def __init__(self, source: ScreenSource, on_error: ErrorCallback | None = None) -> None:
        super().__init__()
        self.source = source
        self.on_error = on_error
        # A new viewer starts at the rate the others get: starting at LinkEstimator's default
        # would pull the shared encoder down (and a picture being sharpened with it) the moment it
        # joins; a thinner link shows in its reports soon, and its queue protects the others.
        others = [v.controller.target for v in source.viewers]
        self.controller = LinkEstimator(start=min(others)) if others else LinkEstimator()
        self.pacer = Pacer(overhead=WIRE_OVERHEAD)
        self.queue = ViewerQueue()
        self.frames_sent = 0
        self.bytes_sent = 0
        self._released = False
        self._arrived = asyncio.Event()
        self._rtp_pts = 0
        self._filler_due = False

    @property
    def monitor(self) -> Monitor | None:
        return self.source.monitor

    def hold(self) -> None:
        """Nothing is sent before release() (the session may not have granted viewing yet)."""

    def release(self) -> None:
        if not self._released and self.readyState == "live":
            self._released = True
            self.source._subscribe(self)
            self._arrived.set()  # a sender already waiting in recv() now counts as ready

    def request_keyframe(self) -> None:  # SenderFeedback: this viewer's PLI/FIR
        self.source._keyframe_requested()

    def push(self, frame: Frame) -> None:
        if self.queue.offer(frame, self.controller.pace_rate):
            self._arrived.set()

    def fail(self, exc: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(exc)
        self.stop()

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._filler_due:
            # aiortc's receiver passes a frame on only when the next timestamp shows up (codec.AUD).
            self._filler_due = False
            return rtp_packet(AUD, self._rtp_pts)
        while True:
            frame = self.queue.take()
            if frame is not None:
                break
            if self._released:
                if self.queue.waiting(time.monotonic()):
                    self.source._keyframe_needed()
                self.source._viewer_ready()
            self._arrived.clear()
            await self._arrived.wait()
            if self.readyState != "live":
                raise MediaStreamError
        now = time.monotonic()
        self.frames_sent += 1
        self.bytes_sent += len(frame.data)
        self.controller.on_sent(len(frame.data), now)
        packet = rtp_packet(frame.data, self._rtp_pts)
        self._rtp_pts += RTP_STEP
        self._filler_due = True
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
        self._arrived.set()
        if self._released:
            self._released = False
            self.source._unsubscribe(self)


def attach_viewer(track: ViewerTrack, transceiver: RTCRtpTransceiver) -> SenderFeedback:
    """Wire a viewer's track to its transceiver: H.264 only, its RTCP feedback in (keyframe
    requests to the shared encoder, reports to its own estimator), its own paced packets out."""
    prefer_h264(transceiver)
    feedback = SenderFeedback(track.request_keyframe, track.controller)
    feedback.attach(transceiver.sender)
    pace(transceiver.sender, track.pacer, lambda: track.controller.pace_rate)
    return feedback
