"""The encoder, without a network."""

from __future__ import annotations

import av
import numpy as np

from rassist.media.codec import AUD, ScreenEncoder
from rassist.media.ratecontrol import RateSettings


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


def test_encoder_scales_down_and_switches_chroma_with_one_keyframe_each() -> None:
    enc = ScreenEncoder(RateSettings(8_000_000, 30.0), threads=1)
    enc.apply(0, 0, np.random.default_rng(1).integers(0, 255, (240, 320, 4), np.uint8), full=True)
    decoder = av.CodecContext.create("h264", "r")
    decoder.decode(av.Packet(enc.encode(0)))
    enc.configure(RateSettings(200_000, 4.0, 0.5, "yuv420p"))
    frame = decoder.decode(av.Packet(enc.encode(3000)))[0]
    assert (frame.width, frame.height, frame.format.name) == (160, 120, "yuv420p")
    assert enc.last_keyframe and enc.keyframes == 2
    enc.configure(RateSettings(260_000, 5.0, 0.5, "yuv420p"))  # a small change per frame: no reopen
    enc.encode(6000)
    assert not enc.last_keyframe and enc.reopens == 2


def test_encoder_reopens_for_a_new_rate_only_when_it_pays() -> None:
    enc = ScreenEncoder(RateSettings(1_000_000, 8.0), threads=1)
    screen = np.zeros((240, 320, 4), np.uint8)
    enc.apply(0, 0, screen, full=True)
    enc.encode(0)
    enc.configure(RateSettings(1_500_000, 8.0))
    enc.apply(0, 0, screen[:20, :20])  # a small change: stays open at the old rate
    enc.encode(3000)
    assert enc.reopens == 1
    enc.apply(0, 0, screen)  # the whole screen changes: the new rate comes with it
    enc.encode(6000)
    assert enc.reopens == 2 and enc.last_keyframe
    enc.configure(RateSettings(7_000_000, 8.0))  # far more: not on a still picture...
    enc.encode(9000, refining=True)
    assert enc.reopens == 2
    enc.apply(0, 0, screen[:20, :20])
    enc.encode(12000)  # ...but with the next change
    assert enc.reopens == 3
    enc.configure(RateSettings(3_000_000, 8.0))  # less than half: frames would pace out slowly
    enc.encode(15000, refining=True, may_reopen=False)  # but not right after another keyframe
    assert enc.reopens == 3
    enc.encode(18000, refining=True)
    assert enc.reopens == 4


def test_a_new_screen_after_rest_comes_as_one_keyframe_and_motion_does_not() -> None:
    enc = ScreenEncoder(RateSettings(2_000_000, 20.0), threads=1)
    screen = np.zeros((240, 320, 4), np.uint8)
    enc.apply(0, 0, screen, full=True)
    enc.encode(0)
    enc.encode(3000, refining=True)  # the screen is at rest
    enc.apply(0, 0, screen[:60])  # an application paints a new screen in two bands
    enc.encode(6000)
    assert enc.reopens == 1 and not enc.last_keyframe  # not yet half of the screen
    enc.apply(0, 60, screen[60:])
    enc.encode(9000)
    assert enc.reopens == 2 and enc.last_keyframe  # a fresh start: a full VBV buffer for it
    enc.encode(12000, refining=True)
    for i in range(10):  # a region scrolls: the same blocks change in every frame
        enc.apply(0, 0, screen[:120, :200])
        enc.encode(15000 + 3000 * i)
    assert enc.reopens == 2


def test_a_lossy_link_gets_no_whole_screen_keyframe() -> None:
    enc = ScreenEncoder(RateSettings(2_000_000, 20.0, whole_screens=False), threads=1)
    screen = np.zeros((240, 320, 4), np.uint8)
    enc.apply(0, 0, screen, full=True)
    enc.encode(0)
    enc.encode(3000, refining=True)
    enc.apply(0, 0, screen)
    enc.encode(6000)
    assert enc.reopens == 1


def test_a_still_text_screen_sharpens_until_done_not_until_the_vbv_runs_dry() -> None:
    """The first picture (a keyframe from a third-full VBV buffer) drains the buffer; libx264
    then makes small frames to refill it while the picture is still blurred. Those must not end
    the refinement (SendPolicy's "two small frames in a row"): the picture ends sharp."""
    from rassist.media.screen_track import Action, SendPolicy
    from tests.media.conftest import psnr, text_screen

    picture = text_screen(seed=8)
    bgra = np.dstack([picture[..., 2], picture[..., 1], picture[..., 0], np.zeros_like(picture[..., 0])])
    enc = ScreenEncoder(RateSettings(1_500_000, 20.0))
    enc.apply(0, 0, np.ascontiguousarray(bgra), full=True)
    decoder = av.CodecContext.create("h264", "r")
    policy = SendPolicy()
    action, frames, now = Action("frame"), [], 0.0
    for _ in range(400):
        data = enc.encode(int(now * 90000), refining=action.kind == "refine")
        if action.kind == "refine" and len(frames) == 1:
            assert enc.vbv_starved  # the first picture left the buffer low
        policy.sent(Action("keyframe") if enc.last_keyframe else action, 1, len(data), now, enc.vbv_starved)
        frames += decoder.decode(av.Packet(data))
        now += 0.05
        step = policy.next_action(1, now, 20.0)
        if not isinstance(step, Action):
            break
        action = step
    assert not policy.refining and not enc.vbv_starved  # it stopped because the picture is done
    assert psnr(frames[-1].to_ndarray(format="rgb24"), picture) >= 40
