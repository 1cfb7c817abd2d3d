"""The fan-out policy (pure): which frames each viewer gets, when the shared encoder may encode,
the shared rate and keyframe demands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.media.fanout import (FLOOR_FRACTION, LAG_LIMIT, FanoutLimiter, Frame, ViewerQueue, gate,
                                  shared_rate)

KEY, P = Frame(b"k" * 1000, True), Frame(b"p" * 100, False)


def test_a_new_viewer_skips_everything_before_a_keyframe() -> None:
    q = ViewerQueue()
    assert q.waiting(0.0) is True  # asks for its keyframe once...
    assert q.waiting(0.1) is False  # ...not again
    assert not q.offer(P, 1e6) and q.dropped == 1
    assert q.offer(KEY, 1e6) and q.in_standing and q.ready_since is None
    assert q.offer(P, 1e6)
    assert q.take() == KEY and q.take() == P and q.take() is None


def test_a_keyframe_supersedes_what_a_viewer_has_queued() -> None:
    q = ViewerQueue()
    q.offer(KEY, 1e6)
    q.offer(P, 1e6)
    q.offer(P, 1e6)
    q.offer(KEY, 1e6)
    assert list(q.frames) == [KEY] and q.dropped == 3


def test_an_overflowing_viewer_drops_until_the_next_keyframe_and_asks_once_drained() -> None:
    q = ViewerQueue(queue_seconds=1.0)
    q.offer(KEY, 8000.0)  # alone: never an overflow, however big
    assert q.in_standing
    assert not q.offer(P, 8000.0)  # 1100 bytes at 1 kB/s: over a second queued
    assert q.overflows == 1 and not q.frames and q.need_key and not q.gating
    assert not q.offer(P, 8000.0)
    assert q.waiting(5.0) is True and q.gating  # its sender drained: now it asks
    assert q.offer(KEY, 8000.0) and q.in_standing


def test_a_queue_overflows_on_frame_count_too() -> None:
    q = ViewerQueue(queue_frames=3)
    q.offer(KEY, 1e9)
    for _ in range(2):
        assert q.offer(P, 1e9)
    assert not q.offer(P, 1e9) and q.overflows == 1


def test_gate_waits_for_every_sender_at_most_the_lag_limit() -> None:
    a, b = ViewerQueue(), ViewerQueue()
    for q in (a, b):
        q.offer(KEY, 1e6)
        q.take()
    assert gate([a, b], 0.0) is None  # nobody asked
    a.waiting(1.0)
    assert gate([a, b], 1.0) == pytest.approx(LAG_LIMIT)
    b.waiting(1.1)
    assert gate([a, b], 1.1) == 0.0
    # b is slow again: after the lag limit the encoder goes on without it, and stops waiting for it
    a.offer(P, 1e6), b.offer(P, 1e6)
    a.take(), b.take()
    a.waiting(2.0)
    assert gate([a, b], 2.0 + LAG_LIMIT) == 0.0 and not b.gating
    a.offer(P, 1e6), b.offer(P, 1e6)
    a.take()
    a.waiting(3.0)
    assert gate([a, b], 3.0) == 0.0  # b does not gate until its sender asks with nothing queued
    b.take()
    b.waiting(3.5)
    assert b.gating


def test_a_viewer_skipping_to_a_keyframe_never_holds_the_others() -> None:
    a, b = ViewerQueue(), ViewerQueue()
    a.offer(KEY, 1e6)
    a.take()
    a.waiting(0.0)
    assert b.need_key and gate([a, b], 0.0) == 0.0


def test_shared_rate_follows_the_slowest_in_standing_with_a_floor() -> None:
    assert shared_rate([], [], 1_500_000) == 1_500_000
    assert shared_rate([2_000_000, 5_000_000], [2_000_000, 5_000_000], 0) == 2_000_000
    assert shared_rate([200_000, 8_000_000], [200_000, 8_000_000], 0) == 8_000_000 * FLOOR_FRACTION
    # a viewer skipping to a keyframe is out of the rate
    assert shared_rate([6_000_000], [500_000, 6_000_000], 0) == 6_000_000


@given(st.lists(st.integers(100_000, 40_000_000), min_size=1, max_size=6), st.data())
def test_shared_rate_is_between_the_floor_and_the_fastest(everyone: list[int], data: st.DataObject) -> None:
    standing = data.draw(st.lists(st.sampled_from(everyone), max_size=len(everyone)))
    rate = shared_rate(standing, everyone, 0)
    assert max(everyone) * FLOOR_FRACTION - 1 <= rate <= max(everyone)
    if standing:
        assert rate <= max(min(standing), max(everyone) * FLOOR_FRACTION)


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 400_000)), max_size=200))
def test_a_viewer_queue_never_holds_more_than_its_limits(frames: list[tuple[bool, int]]) -> None:
    q = ViewerQueue(queue_seconds=1.0, queue_frames=20)
    for keyframe, size in frames:
        q.offer(Frame(bytes(size), keyframe), 1_000_000.0)
        assert len(q.frames) <= 20
        assert len(q.frames) == 1 or q.queued_bytes * 8 / 1_000_000.0 <= 1.0
        assert not q.frames or q.frames[0].keyframe or not q.need_key
        assert q.queued_bytes == sum(len(f.data) for f in q.frames)


def test_limiter_lets_a_new_viewers_keyframe_through_at_once() -> None:
    lim = FanoutLimiter()
    lim.sent(10.0, 0.5, 0.1, 0.03)
    lim.request(10.2)  # a PLI while the keyframe is in flight: too early, ignored
    assert lim.due(10.2) is None
    lim.demand(10.2)  # a viewer that skipped frames: wanted, but after the interval
    assert lim.due(10.2) is not None and lim.due(10.2) > 0
    lim.demand(10.3, urgent=True)  # a new viewer: now
    assert lim.due(10.3) == 0.0
    lim.sent(10.3, 0.5, 0.1, 0.03)
    assert lim.due(10.4) is None and not lim.urgent


def test_the_shared_encoder_follows_the_viewers_links(monkeypatch: pytest.MonkeyPatch) -> None:
    from rassist.media.screen_source import ScreenSource, ViewerTrack

    monkeypatch.delenv("DISPLAY", raising=False)
    source = ScreenSource()
    assert source.error is not None  # no display: still usable to reason about rates
    fast, slow = ViewerTrack(source), ViewerTrack(source)
    source.viewers = [fast, slow]
    for track in (fast, slow):
        track.queue.offer(KEY, 1e6)  # both in good standing
    fast.controller.target, slow.controller.target = 20_000_000, 2_000_000
    fast.controller.rtt, slow.controller.rtt = 0.01, 0.08
    settings = source.estimator.settings()
    assert settings.bitrate == 20_000_000 * FLOOR_FRACTION and source.estimator.rtt == 0.08
    slow.controller.target = 8_000_000
    assert source.estimator.settings().bitrate == 8_000_000
    slow.queue.offer(Frame(b"x" * 10_000_000, False), 1e6)  # overflows: skips to a keyframe
    assert source.estimator.settings().bitrate == 20_000_000
