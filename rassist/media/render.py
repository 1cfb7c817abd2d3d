"""The remote screen in a terminal: Kitty or Sixel graphics where the terminal has them, Unicode
half blocks elsewhere (textual-image renderables for rich), scaled to fit and keeping the aspect.

textual-image probes the terminal when it is imported (only when stdout is a terminal):
probe_terminal() does that import, once, at a safe moment.
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


def probe_terminal() -> None:
    """Ask the terminal once which graphics it draws, before anything else reads stdin.

    textual-image does this when it is imported: it writes queries and reads the answers from
    stdin for up to 0.1 s each. Done later, in a worker thread while another thread reads
    stdin, the two readers race: the probe eats typed characters (the first character of a chat
    line went missing), or blocks in read() after the other thread took the answer (and exit
    waited for it until Enter). So: in the main thread, first. The Kitty query is an APC
    sequence that tmux and screen take for a window title; it is not sent there (Kitty graphics
    do not pass through them anyway)."""
    import os
    import sys
    from contextlib import contextmanager

    if "textual_image.renderable" in sys.modules:
        return
    from textual_image import _terminal

    asked = _terminal.capture_terminal_response
    multiplexed = bool(os.environ.get("TMUX")) or os.environ.get("TERM", "").startswith("screen")

    @contextmanager
    def careful(start_marker: str, end_marker: str, timeout: float | None = None) -> Any:
        if start_marker.startswith("\x1b_G") and multiplexed:
            raise _terminal.TerminalError("no Kitty graphics query inside tmux or screen")
        with asked(start_marker, end_marker, timeout) as response:
            yield response

    _terminal.capture_terminal_response = careful  # the renderables bind it as they are imported
    try:
        import textual_image.renderable  # noqa: F401 - the probe runs here
    finally:
        _terminal.capture_terminal_response = asked


class TerminalView:
    """Plain mode on a terminal: the remote screen is drawn inline, on request (/screen), sized
    to the terminal, and then the chat goes on below it. A picture that redraws itself in place
    would need the whole terminal and hide the chat lines and events (a full-screen view is what
    the TUI is for).

    Feed it from ViewScreen's `on_frame`; it keeps only the newest frame."""

    def __init__(self, console: Any, mode: Mode = "auto") -> None:
        self.console = console
        self.mode = mode
        self._latest: av.VideoFrame | None = None
        self.frames = 0
        probe_terminal()  # now, in the main thread, before the stdin reader starts

    def on_frame(self, frame: av.VideoFrame) -> None:
        self._latest = frame
        self.frames += 1

    async def show(self, cmd: Any = None) -> None:
        """Print the newest frame (the `/screen` command)."""
        from rassist.errors import CommandError

        frame = self._latest
        if frame is None:
            raise CommandError("no picture of the host's screen has arrived (yet)")
        size = self.console.size
        item = await asyncio.get_running_loop().run_in_executor(
            None, renderable, frame, size.width, max(4, size.height - 3), self.mode)
        self.console.print(item)
        self.console.print(f"[dim]The host's screen, {frame.width}x{frame.height}, "
                           f"as of {time.strftime('%H:%M:%S')}.[/]")

    def stop(self) -> None:
        """Nothing to undo: the view never takes over the terminal."""
