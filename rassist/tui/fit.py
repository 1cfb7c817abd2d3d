"""Where the remote screen sits inside the pane, and where a pointer in the pane lands on it.

The picture keeps its aspect ratio and is centred (letterboxed) in the pane. Terminal cells are
not square, so the pane is measured in pixels: columns x cell width, rows x cell height."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fit:
    """The picture's rectangle in canvas pixels (canvas = the whole pane)."""

    canvas_w: int
    canvas_h: int
    x: int
    y: int
    w: int
    h: int

    def to_remote(self, col: float, row: float, cols: int, rows: int) -> tuple[float, float] | None:
        """A point in the pane, in cell units (the middle of cell 3 is 3.5), -> the remote
        screen as fractions 0..1; None when the point is over the black bars."""
        if cols <= 0 or rows <= 0 or self.w <= 0 or self.h <= 0:
            return None
        px, py = col * self.canvas_w / cols, row * self.canvas_h / rows
        fx, fy = (px - self.x) / self.w, (py - self.y) / self.h
        if not (0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0):
            return None
        return round(min(fx, 1.0), 5), round(min(fy, 1.0), 5)


def fit(frame_w: int, frame_h: int, cols: int, rows: int, cell_w: int, cell_h: int) -> Fit:
    """Letterbox a frame_w x frame_h picture in a pane of cols x rows cells of cell_w x cell_h pixels."""
    canvas_w, canvas_h = max(0, cols * cell_w), max(0, rows * cell_h)
    if frame_w <= 0 or frame_h <= 0 or canvas_w == 0 or canvas_h == 0:
        return Fit(canvas_w, canvas_h, 0, 0, 0, 0)
    scale = min(canvas_w / frame_w, canvas_h / frame_h)
    w = max(1, round(frame_w * scale))
    h = max(1, round(frame_h * scale))
    return Fit(canvas_w, canvas_h, (canvas_w - w) // 2, (canvas_h - h) // 2, w, h)
