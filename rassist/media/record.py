"""Recording of the received screen to .mkv, .mp4 or .webm with PyAV, in a worker thread.

Frames are re-encoded as 4:2:0 (H.264 for mkv/mp4, VP8 for webm) because that is what every
player decodes; the live stream's 4:4:4 is for crisp text on screen. Timestamps are the arrival
times in milliseconds, so a still screen (no frames) plays back as a still picture of the right
length.
"""

from __future__ import annotations

import fractions
import queue
import threading
from pathlib import Path
from typing import Any

import av

from rassist.errors import UsageError

FORMATS: dict[str, tuple[str, str, dict[str, str]]] = {
    # suffix: (container format, codec, codec options)
    ".mkv": ("matroska", "libx264", {"preset": "superfast", "crf": "23"}),
    ".mp4": ("mp4", "libx264", {"preset": "superfast", "crf": "23"}),
    ".webm": ("webm", "libvpx", {"deadline": "realtime", "cpu-used": "8", "crf": "10",
                                 "b": "4M", "lag-in-frames": "0"}),
}
TIME_BASE = fractions.Fraction(1, 1000)
QUEUE_FRAMES = 30  # beyond this the encoder cannot keep up: drop the oldest rather than grow


def check_path(path: Path) -> None:
    """Raise UsageError for a suffix we cannot record to (before connecting)."""
    if Path(path).suffix.lower() not in FORMATS:
        raise UsageError(f"cannot record to {path}: use a .mkv, .mp4 or .webm file name")


class Recorder:
    def __init__(self, path: Path) -> None:
        check_path(path)
        self.path = Path(path)
        self.frames_written = 0
        self.frames_dropped = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[av.VideoFrame, float] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="rassist-record", daemon=True)
        self._thread.start()
        self._closed = False

    def feed(self, frame: av.VideoFrame, at: float) -> None:
        """Queue one received frame with its arrival time (seconds, monotonic). Never blocks."""
        if self._closed:
            return
        if self._queue.qsize() >= QUEUE_FRAMES:
            try:
                self._queue.get_nowait()
                self.frames_dropped += 1
            except queue.Empty:
                pass
        self._queue.put((frame, at))

    def close(self) -> None:
        """Flush and finish the file (blocks until written: call it from a thread)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        container: Any = None
        stream: Any = None
        first_at = 0.0
        last_pts = -1
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                frame, at = item
                if container is None:
                    container, stream = self._open(frame)
                    first_at = at
                pts = max(last_pts + 1, int((at - first_at) * 1000))
                last_pts = pts
                out = frame.reformat(width=stream.codec_context.width, height=stream.codec_context.height,
                                     format="yuv420p")
                out.pts = pts
                out.time_base = TIME_BASE
                out.pict_type = av.video.frame.PictureType.NONE
                for packet in stream.encode(out):
                    container.mux(packet)
                self.frames_written += 1
            if stream is not None:
                for packet in stream.encode(None):
                    container.mux(packet)
        except BaseException as exc:
            self.error = exc
            while self._queue.get() is not None:  # keep feed()/close() from blocking forever
                pass
        finally:
            if container is not None:
                container.close()

    def _open(self, frame: av.VideoFrame) -> tuple[Any, Any]:
        fmt, codec, options = FORMATS[self.path.suffix.lower()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), mode="w", format=fmt)
        stream = container.add_stream(codec, rate=30)
        # 4:2:0 needs even dimensions.
        stream.codec_context.width = frame.width - frame.width % 2
        stream.codec_context.height = frame.height - frame.height % 2
        stream.codec_context.pix_fmt = "yuv420p"
        stream.codec_context.time_base = TIME_BASE
        stream.time_base = TIME_BASE
        stream.codec_context.options = options
        return container, stream
