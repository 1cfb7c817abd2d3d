"""Reading screen text (OCR) on its own thread: snapshots, and frames of a recording at scene
changes. A 1080p screen takes tesseract seconds; nothing else waits for it.

Scene changes: the recorder offers the newest frame every SAMPLE seconds; a frame is read when
the screen has settled (its thumbnail matches the previous sample) and differs from the last
screen read. At most MAX_QUEUED frames wait; more are dropped (the next scene will come)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rassist.records.model import Item, now_ms

SAMPLE = 2.0
MAX_QUEUED = 2
THUMB = (64, 36)
CHANGED = 4.0  # mean absolute difference of grey thumbnails (0-255) that counts as a change
Reader = Callable[[Path], str | None]

_STOP = object()


def thumbnail(image: Any) -> list[int]:
    from PIL import ImageOps

    small = ImageOps.grayscale(image).resize(THUMB)
    return list(small.getdata())


def differs(a: list[int] | None, b: list[int] | None) -> bool:
    if a is None or b is None:
        return True
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a) > CHANGED


class ScreenText:
    def __init__(self, read: Reader, deliver: Callable[[Item], None]) -> None:
        self.read = read
        self.deliver = deliver
        self._queue: queue.Queue[Any] = queue.Queue()
        self._slots = threading.Semaphore(MAX_QUEUED)
        self._previous: list[int] | None = None  # the last sampled thumbnail
        self._previous_frame: Any = None
        self._last_read: list[int] | None = None  # the thumbnail of the last screen read
        self.frames_read = 0
        self._thread = threading.Thread(target=self._run, name="screen-text", daemon=True)
        self._thread.start()

    def snapshot(self, path: Path, name: str, ts: int) -> None:
        self._queue.put(("snapshot", path, name, ts))

    def frame(self, frame: Any, source: str) -> None:
        """A decoded av.VideoFrame from the recording (called on the loop: only a queue put)."""
        if not self._slots.acquire(blocking=False):
            return
        self._queue.put(("frame", frame, source, now_ms()))

    def close(self, timeout: float) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (job := self._queue.get()) is not _STOP:
            try:
                if job[0] == "snapshot":
                    self._snapshot(*job[1:])
                else:
                    try:
                        self._frame(*job[1:])
                    finally:
                        self._slots.release()
            except Exception as exc:  # noqa: BLE001 - OCR trouble costs the text, never the session
                self.deliver(Item("screen-text-error", {"error": str(exc)[:300]}))

    def _snapshot(self, path: Path, name: str, ts: int) -> None:
        text = self.read(path)
        if text:
            self.deliver(Item("screen-text", {"file": name, "text": text, "source": "snapshot"}, ts=ts))

    def _frame(self, frame: Any, source: str, ts: int) -> None:
        import tempfile

        if frame is self._previous_frame:  # a still screen: nothing new was decoded
            thumb, image = self._previous, None
        else:
            image = frame.to_image()
            thumb = thumbnail(image)
        settled = not differs(thumb, self._previous)
        self._previous, self._previous_frame = thumb, frame
        if not settled or not differs(thumb, self._last_read):
            return
        image = image or frame.to_image()
        self._last_read = thumb
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "frame.png"
            image.save(png)
            text = self.read(png)
        self.frames_read += 1
        if text:
            self.deliver(Item("screen-text", {"file": source, "text": text, "source": "recording"}, ts=ts))
