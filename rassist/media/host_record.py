"""`rassist host --record FILE`: the host records the screen it shares, as the joiner can.

A session feature with its own capturer (grabbing only what changed, like the shared stream)
and a thread that paints the changes onto a full frame and hands a frame to the file writer
(media/record.py) at most FPS times a second, only when something changed. The live stream's
encoder is not touched: recording costs a second, cheap grab and a 4:2:0 encode."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiortc import RTCPeerConnection

from rassist.media.record import Recorder, check_path

if TYPE_CHECKING:
    from rassist.media.capture import ScreenUpdate
    from rassist.session import Session

FPS = 5.0


class HostRecording:
    def __init__(self, record: Path, monitor: int | None = None) -> None:
        check_path(record)  # a bad suffix is a usage error before anything connects
        self.record = record
        self.monitor_index = monitor
        self.recorder: Recorder | None = None
        self.latest: Any = None  # the last av.VideoFrame written (the ticket reads screen text from it)
        self.viewer = self  # what the ticket's screen reader looks for: an object with `latest`
        self._capturer: Any = None
        self._canvas: Any = None
        self._dirty = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: Session | None = None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        from rassist.media.capture import NoDisplayError, ScreenCapturer, pick_monitor

        self._session = session
        try:
            monitor = pick_monitor(self.monitor_index)
        except NoDisplayError as exc:
            session.emit("error", kind="no-display", message=f"not recording: {exc.message}")
            return
        import numpy as np

        self._canvas = np.zeros((monitor.height, monitor.width, 4), np.uint8)
        self.recorder = Recorder(self.record)
        self._capturer = ScreenCapturer(monitor, self._captured, max_fps=FPS)
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._capturer.start)
        except Exception as exc:  # noqa: BLE001 - the session goes on without a recording
            session.emit("error", kind="no-display", message=f"not recording: {exc}")
            self._capturer = None
            return
        self._thread = threading.Thread(target=self._run, name="rassist-host-record", daemon=True)
        self._thread.start()

    def _captured(self, update: ScreenUpdate) -> None:  # capture thread
        with self._lock:
            self._canvas[update.y:update.y + update.height, update.x:update.x + update.width] = update.pixels
            self._dirty = True

    def _run(self) -> None:
        import av

        while not self._stop.wait(1 / FPS):
            with self._lock:
                if not self._dirty:
                    continue
                self._dirty = False
                bgr = self._canvas[..., :3].copy()
            frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
            self.latest = frame
            assert self.recorder is not None
            self.recorder.feed(frame, time.monotonic())

    async def stop(self) -> None:
        self._stop.set()
        if self._capturer is not None:
            self._capturer.stop(wait=False)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2)
        if self.recorder is None:
            return
        try:
            await asyncio.to_thread(self.recorder.close)
        except Exception as exc:  # noqa: BLE001 - reported, the session is ending anyway
            if self._session is not None:
                self._session.emit("error", kind="record", message=f"the recording failed: {exc}")
            return
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.emit("recorded", path=str(self.record), frames=self.recorder.frames_written)
