"""Bitrate adaptation and the encoder, without a network."""

from __future__ import annotations

import av
import numpy as np

from rassist.media.codec import AUD, BitrateController, RateSettings, ScreenEncoder


def test_remb_raises_and_falling_remb_lowers_gently() -> None:
    c = BitrateController(start=8_000_000)
    c.on_remb(12_000_000, 0.0)
    assert c.target == 12_000_000
    c.on_remb(11_000_000, 1.0)  # falling: overuse, at most 15% down per report
    assert c.target == 11_000_000
    c.on_remb(1_000_000, 2.0)
    assert c.target == int(11_000_000 * 0.85)
    for t in range(3, 30):
        c.on_remb(1_000_000 - t, float(t))
    assert c.target == c.remb_floor  # REMB alone stops at its floor
    c.on_loss(0.3)  # loss takes it further
    assert c.target < c.remb_floor
    assert c.settings().fps < 30


def test_low_remb_while_idle_is_ignored() -> None:
    c = BitrateController(start=8_000_000)
    c.on_remb(400_000, 0.0)  # first report after an idle stretch: just our own small rate
    assert c.target == 8_000_000
    assert c.settings() == RateSettings(8_000_000, c.max_fps)


def test_encoder_updates_rectangles_and_decodes() -> None:
    enc = ScreenEncoder(RateSettings(8_000_000, 30.0), threads=1)
    bgra = np.zeros((240, 320, 4), np.uint8)
    enc.apply(0, 0, bgra, full=True)
    decoder = av.CodecContext.create("h264", "r")
    first = decoder.decode(av.Packet(enc.encode(0, keyframe=True)))
    assert first[0].format.name == "yuv444p"
    patch = np.zeros((20, 30, 4), np.uint8)
    patch[..., 1] = 255  # green in BGRA
    enc.apply(100, 50, patch)
    frames = decoder.decode(av.Packet(AUD + enc.encode(3000)))  # an AUD may lead an access unit
    rgb = frames[0].to_ndarray(format="rgb24")
    assert rgb[60, 110, 1] > 200 and rgb[60, 110, 0] < 60 and rgb[10, 10].max() < 40
    assert enc.keyframes == 1
