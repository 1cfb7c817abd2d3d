"""Restarting the encoder (a new rate, size or chroma) must not grow the host's memory: each
libx264 context at 1080p 4:4:4 holds ~80 MB, and one left behind per restart, or two alive at
once, showed as a heap that grew with every restart."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rassist.media.codec import ScreenEncoder
from rassist.media.ratecontrol import RateSettings
from tests.media.conftest import text_screen

RESTARTS = 24
MARGIN_MB = 30  # measured growth: -4 to +3 MB; 53-60 MB with both contexts alive at once


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_memory_stays_flat_across_encoder_restarts() -> None:
    screens = [np.dstack([rgb[..., ::-1], np.zeros(rgb.shape[:2], np.uint8)])
               for rgb in (text_screen(seed=s) for s in range(3))]
    encoder = ScreenEncoder(RateSettings(2_000_000, 20.0), threads=2)
    encoder.apply(0, 0, screens[0], full=True)
    pts = 0

    def new_screen(rate: int, screen: np.ndarray) -> None:
        nonlocal pts
        encoder.configure(RateSettings(rate, 20.0))
        encoder.apply(0, 0, screen)
        for i in range(7):  # the change, then sharpening until little is left to add
            pts += 3000
            encoder.encode(pts, refining=i > 0)

    new_screen(2_000_000, screens[1])  # one encoder at work: what it holds is the baseline
    before, reopens = rss_mb(), encoder.reopens
    for k in range(RESTARTS):
        new_screen((300_000, 1_000_000, 2_500_000)[k % 3], screens[k % 3])
    assert encoder.reopens - reopens >= RESTARTS  # every new rate restarted it
    grown = rss_mb() - before
    assert grown < MARGIN_MB, f"RSS grew by {grown:.0f} MB over {RESTARTS} encoder restarts"
    encoder.close()
