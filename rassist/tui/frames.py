"""A decoded frame (av.VideoFrame, PIL image or numpy array) scaled and letterboxed into a
picture exactly the size of the screen pane. Runs in a worker thread: nothing here touches Textual."""

from __future__ import annotations

from typing import Any

from PIL import Image

from rassist.tui.fit import Fit, fit


def frame_size(frame: Any) -> tuple[int, int]:
    if isinstance(frame, Image.Image):
        return frame.size
    if hasattr(frame, "width") and hasattr(frame, "height"):  # av.VideoFrame
        return int(frame.width), int(frame.height)
    shape = getattr(frame, "shape", None)  # numpy: rows, columns[, channels]
    if shape is not None and len(shape) >= 2:
        return int(shape[1]), int(shape[0])
    raise TypeError(f"not a frame: {type(frame).__name__}")


def scaled(frame: Any, width: int, height: int) -> Image.Image:
    if isinstance(frame, Image.Image):
        return frame.convert("RGB").resize((width, height), Image.Resampling.BOX)
    if hasattr(frame, "reformat"):
        # swscale converts and shrinks in one pass, far cheaper than to_image() at full size;
        # AREA averages, which keeps small text legible when shrinking.
        return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_image()
    return Image.fromarray(frame).convert("RGB").resize((width, height), Image.Resampling.BOX)


def letterbox(frame: Any, cols: int, rows: int, cell_w: int, cell_h: int) -> tuple[Image.Image, Fit]:
    """The pane-sized picture (canvas) and where the frame sits in it."""
    w, h = frame_size(frame)
    placed = fit(w, h, cols, rows, cell_w, cell_h)
    canvas = Image.new("RGB", (max(1, placed.canvas_w), max(1, placed.canvas_h)))
    if placed.w and placed.h:
        canvas.paste(scaled(frame, placed.w, placed.h), (placed.x, placed.y))
    return canvas, placed
