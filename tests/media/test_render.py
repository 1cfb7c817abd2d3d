"""Terminal rendering: fitting, and the half-block renderer on a small synthetic frame."""

from __future__ import annotations

import io

import av
import numpy as np
from rich.console import Console

from rassist.media.render import fit, renderable


def test_fit_keeps_the_aspect_ratio() -> None:
    assert fit(1920, 1080, 80, 24) == (80, 22)  # width-bound: 80 cols x 45 half-block rows
    assert fit(1920, 1080, 200, 20) == (71, 20)  # height-bound
    assert fit(0, 10, 80, 24) == (0, 0)


def test_halfblocks_show_the_pixels() -> None:
    # 4x4 frame: top half red, bottom half blue, right column green.
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:2] = (255, 0, 0)
    rgb[2:] = (0, 0, 255)
    rgb[:, 3] = (0, 255, 0)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    console = Console(file=io.StringIO(), width=4, height=3, color_system="truecolor")
    segments = [s for s in console.render(renderable(frame, 4, 2, mode="halfblock")) if s.text == "▀"]
    assert len(segments) == 8  # 4 columns x 2 rows of cells, each cell two pixels tall
    colours = [(s.style.color.triplet, s.style.bgcolor.triplet) for s in segments]
    # Row 1: upper pixel row 0 (red), lower pixel row 1 (red); row 2: blue over blue.
    for i, (upper, lower) in enumerate(colours):
        expected = (0, 255, 0) if i % 4 == 3 else ((255, 0, 0) if i < 4 else (0, 0, 255))
        assert tuple(upper) == expected and tuple(lower) == expected
