"""The remote screen as coloured half blocks, for terminals without Kitty or Sixel graphics.

Each cell is "▀": its foreground is the upper pixel, its background the lower one. The lines are
built off the event loop (a worker thread), with runs of equal cells merged and one Rich Style per
colour pair kept across frames; drawing a frame on the loop is then only swapping the lines.
(Rendering through textual-image's half-cell renderable makes a Style per cell on the loop: about
100 ms a frame at 150x50, which starves the rest of the UI.)"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

UPPER_HALF = "▀"
MAX_STYLES = 65536  # colour pairs remembered; a screen's UI uses a few thousand


class LineMaker:
    """Canvas (two pixel rows per cell row) -> one Strip per cell row. Not thread-safe: one frame at a time."""

    def __init__(self) -> None:
        self.styles: dict[tuple[int, ...], Style] = {}

    def __call__(self, canvas: Image.Image) -> list[Strip]:
        if len(self.styles) > MAX_STYLES:
            self.styles.clear()
        pixels = np.asarray(canvas.convert("RGB"))
        width = pixels.shape[1]
        lines = []
        for y in range(pixels.shape[0] // 2):
            segments: list[Segment] = []
            previous: tuple[int, ...] | None = None
            run = 0
            style: Style | None = None
            for upper, lower in zip(pixels[2 * y].tolist(), pixels[2 * y + 1].tolist()):
                key = (*upper, *lower)
                if key == previous:
                    run += 1
                    continue
                if previous is not None:
                    segments.append(Segment(UPPER_HALF * run, style))
                style = self.styles.get(key)
                if style is None:
                    style = self.styles[key] = Style(color=Color.from_rgb(*upper), bgcolor=Color.from_rgb(*lower))
                previous, run = key, 1
            if previous is not None:
                segments.append(Segment(UPPER_HALF * run, style))
            lines.append(Strip(segments, width))
        return lines


class HalfBlocks(Widget):
    DEFAULT_CSS = """
    HalfBlocks { width: 100%; height: 100%; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines: list[Strip] = []

    def show(self, lines: list[Strip]) -> None:
        self.lines = lines
        self.refresh()

    def render_line(self, y: int) -> Strip:
        return self.lines[y] if y < len(self.lines) else Strip.blank(self.size.width)
