"""The remote screen in a terminal: Kitty or Sixel graphics where the terminal has them, Unicode
half blocks elsewhere (textual-image renderables for rich), scaled to fit and keeping the aspect.

textual-image probes the terminal when it is imported (only when stdout is a terminal), so it is
imported lazily, on the first frame to draw.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

import av
from PIL import Image

Mode = Literal["auto", "kitty", "sixel", "halfblock"]
MODES: tuple[str, ...] = ("auto", "kitty", "sixel", "halfblock")
# Pixels per cell we hand to graphics protocols: enough for a crisp picture at usual font sizes,
# little enough to keep encoding and terminal I/O cheap.
GRAPHICS_CELL = (10, 20)


def fit(width: int, height: int, columns: int, rows: int) -> tuple[int, int]:
    """The most cells (columns, rows) a width x height picture can fill without distortion,
    taking a cell as twice as tall as wide (one half block = one square pixel)."""
    if width <= 0 or height <= 0 or columns <= 0 or rows <= 0:
        return 0, 0
    scale = min(columns / width, 2 * rows / height)
    return max(1, min(columns, round(width * scale))), max(1, min(rows, round(height * scale / 2)))


def renderer(mode: Mode = "auto") -> type:
    """The textual-image renderable class for `mode` ("auto": what the terminal supports)."""
    from textual_image import renderable

    return {"auto": renderable.Image, "kitty": renderable.TGPImage, "sixel": renderable.SixelImage,
            "halfblock": renderable.HalfcellImage}[mode]


def frame_image(frame: av.VideoFrame, width: int, height: int) -> Image.Image:
    """The frame scaled to width x height pixels (swscale, area averaging keeps text legible)."""
    scaled = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    return scaled.to_image()


def renderable(frame: av.VideoFrame, columns: int, rows: int, mode: Mode = "auto") -> Any:
    """A rich renderable showing `frame` fitted into columns x rows cells."""
    cols, lines = fit(frame.width, frame.height, columns, rows)
    from textual_image.renderable import HalfcellImage, UnicodeImage

    cls = renderer(mode)
    if cls in (HalfcellImage, UnicodeImage):
        pixels = (cols, lines * 2)  # one pixel per half block: scaling here is cheaper than there
    else:
        pixels = (min(frame.width, cols * GRAPHICS_CELL[0]), min(frame.height, lines * GRAPHICS_CELL[1]))
    return cls(frame_image(frame, *pixels), width=cols, height=lines)


class TerminalView:
    """Shows the newest frame in a rich Live display, at most `max_fps` times a second.

    Feed it from ViewScreen's `on_frame`; drawing (scaling, encoding for the terminal) runs in
    a worker thread and frames that arrive meanwhile are skipped, never queued."""

    def __init__(self, console: Any, mode: Mode = "auto", max_fps: float = 10.0) -> None:
        from rich.live import Live

        self.console = console
        self.mode = mode
        self.max_fps = max_fps
        self.live = Live(console=console, auto_refresh=False, screen=True, transient=True)
        self._latest: av.VideoFrame | None = None
        self._busy = False
        self._last = 0.0
        self._started = False

    def on_frame(self, frame: av.VideoFrame) -> None:
        self._latest = frame
        if not self._busy:
            self._busy = True
            asyncio.ensure_future(self._draw())

    async def _draw(self) -> None:
        try:
            while self._latest is not None:
                wait = self._last + 1.0 / self.max_fps - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                frame, self._latest = self._latest, None
                size = self.console.size
                item = await asyncio.get_running_loop().run_in_executor(
                    None, renderable, frame, size.width, size.height - 1, self.mode)
                if not self._started:
                    self.live.start()
                    self._started = True
                self.live.update(item, refresh=True)
                self._last = time.monotonic()
        finally:
            self._busy = False

    def stop(self) -> None:
        if self._started:
            self.live.stop()
            self._started = False
