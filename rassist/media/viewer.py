"""The joiner's side of the screen: consume the received video track, keep the latest frame.

aiortc decodes in its own thread and hands us `av.VideoFrame`s; this keeps the newest one (for
the terminal view, the TUI and snapshots), feeds the recorder, and counts frames for stats.
Anything heavy (PNG encoding, colour conversion for display) happens in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rassist.media.record import Recorder
from rassist.media.repair import ReceiverRepair

FrameCallback = Callable[[av.VideoFrame], None]


class ScreenViewer:
    def __init__(self, on_frame: FrameCallback | None = None, recorder: Recorder | None = None) -> None:
        self.on_frame = on_frame
        self.recorder = recorder
        self.latest: av.VideoFrame | None = None
        # The host's screen size: on a very thin link the host sends a smaller picture, which is
        # scaled back here so everything downstream (views, snapshots, recordings) sees one size.
        self.full_size: tuple[int, int] | None = None
        self.latest_at = 0.0
        self.frames = 0
        self.ended = asyncio.Event()
        self._arrivals: deque[float] = deque(maxlen=120)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.repair: ReceiverRepair | None = None

    def attach(self, track: MediaStreamTrack, receiver: object | None = None) -> None:
        """Start consuming `track` (from `pc.on("track")`; again after a resume: a new track);
        with its aiortc `receiver`, also recover from packets lost for good (repair.py)."""
        self.ended.clear()
        self._task = asyncio.ensure_future(self._consume(track))
        if receiver is not None:
            if self.repair is not None:  # the previous link's receiver (a resume)
                asyncio.ensure_future(self.repair.stop())
            self.repair = ReceiverRepair(receiver)
            self.repair.start()

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                if self.full_size is not None and (frame.width, frame.height) != self.full_size:
                    frame = frame.reformat(width=self.full_size[0], height=self.full_size[1])
                now = time.monotonic()
                self.latest, self.latest_at = frame, now
                self.frames += 1
                self._arrivals.append(now)
                if self.recorder is not None:
                    self.recorder.feed(frame, now)
                if self.on_frame is not None:
                    self.on_frame(frame)
                async with self._changed:
                    self._changed.notify_all()
        except MediaStreamError:
            pass
        finally:
            if self._task is asyncio.current_task():  # not an earlier track, ended after a resume
                self.ended.set()
            async with self._changed:
                self._changed.notify_all()

    def fps(self, window: float = 1.0) -> float:
        """Frames received per second over the last `window` seconds."""
        now = time.monotonic()
        return sum(1 for t in self._arrivals if t >= now - window) / window

    def stats(self) -> dict[str, object]:
        frame = self.latest
        return {"frames": self.frames, "fps": round(self.fps(), 1),
                "width": frame.width if frame else None, "height": frame.height if frame else None}

    async def next_frame(self, after: int | None = None, timeout: float | None = None) -> av.VideoFrame:
        """The first frame received after frame number `after` (default: the current count)."""
        after = self.frames if after is None else after

        async def wait() -> av.VideoFrame:
            async with self._changed:
                await self._changed.wait_for(lambda: self.frames > after or self.ended.is_set())
            if self.frames <= after or self.latest is None:
                raise MediaStreamError("the screen track ended")
            return self.latest

        return await asyncio.wait_for(wait(), timeout)

    async def settled_frame(self, quiet: float = 0.6, limit: float = 4.0,
                            timeout: float | None = None) -> av.VideoFrame:
        """The picture once it stopped changing for `quiet` s (the host sharpens a still screen
        over a few frames), or whatever is newest `limit` s after the first frame."""
        frame = self.latest or await self.next_frame(after=0, timeout=timeout)
        first_at = time.monotonic()
        while time.monotonic() - first_at < limit:
            try:
                frame = await self.next_frame(timeout=quiet)
            except asyncio.TimeoutError:
                break
        return self.latest or frame

    async def save_png(self, path: Path, frame: av.VideoFrame | None = None) -> tuple[int, int]:
        """Write `frame` (default: the latest) at full resolution; returns its size."""
        frame = frame or self.latest
        if frame is None:
            raise ValueError("no frame received yet")
        await asyncio.get_running_loop().run_in_executor(None, write_png, frame, Path(path))
        return frame.width, frame.height

    async def stop(self) -> None:
        if self.repair is not None:
            await self.repair.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.recorder is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.recorder.close)


def write_png(frame: av.VideoFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    frame.to_image().save(tmp, format="PNG")
    tmp.replace(path)


def receiver_of(pc: Any, track: MediaStreamTrack) -> object | None:
    """The aiortc receiver a remote track comes from (the "track" event passes only the track)."""
    return next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)
