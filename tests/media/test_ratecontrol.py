"""The pure rate control: link estimate, keyframe limiter, pacer, degradation ladder, send policy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rassist.media.ratecontrol import (KEYFRAME_INTERVAL, MAX_FRAME_BYTES, VBV_FRAME_SHARE, VBV_INIT, VBV_SECONDS,
                                       FrameRate,
                                       WIRE_OVERHEAD, KeyframeLimiter, LinkEstimator, Pacer, RateSettings,
                                       reopen_wanted, vbv_bufsize)
from rassist.media.screen_track import MOTION_PAUSE, REFINE_BYTES, SETTLE_MAX, SETTLE_STEP, Action, SendPolicy


def feed(est: LinkEstimator, now: float, rate: float, seconds: float = 1.0) -> None:
    """Pretend we sent at `rate` bit/s for `seconds` before `now`, in 10 ms chunks."""
    steps = int(seconds * 100)
    for i in range(steps):
        est.on_sent(int(rate / 8 / 100), now - seconds + (i + 1) / 100)


def test_starts_low_and_doubles_while_the_link_carries_it() -> None:
    est = LinkEstimator(start=1_000_000)
    assert est.settings().bitrate == 1_000_000 and LinkEstimator().target == 1_500_000
    for t in range(1, 4):
        feed(est, t, est.pace_rate)
        est.on_report(0.0, float(t), rtt=0.05)
    assert est.target == 8_000_000


def test_a_still_screen_does_not_probe() -> None:
    est = LinkEstimator(start=1_000_000)
    for t in range(1, 6):
        feed(est, t, 50_000)  # keep-alive frames only
        est.on_report(0.0, float(t), rtt=0.05)
    assert est.target == 1_000_000


def test_one_big_frame_paced_at_the_target_probes_too() -> None:
    est = LinkEstimator(start=2_000_000)
    est.on_report(0.0, 1.0, rtt=0.05)
    est.on_sent(400_000, 1.2)  # a new screen in one frame: 1.6 s at the target, then still
    est.on_report(0.0, 3.0, rtt=0.05)
    assert est.target == 4_000_000
    est.on_sent(60_000, 3.5)  # a small change (0.12 s at the target) tests nothing
    est.on_report(0.0, 5.0, rtt=0.05)
    assert est.target == 4_000_000
    est.on_sent(1_000_000, 5.5)  # 2 s at the target: still leaving when the next report comes
    est.on_report(0.0, 6.5, rtt=0.05)
    assert est.target == 4_000_000


def test_a_big_frame_counts_in_the_first_report_after_it_has_left() -> None:
    est = LinkEstimator(start=3_000_000)
    est.on_report(0.0, 1.0, rtt=0.05)
    est.on_sent(450_000, 1.1)  # 1.2 s at the target
    est.on_report(0.0, 1.8, rtt=0.05)  # still leaving
    assert est.target == 3_000_000
    est.on_report(0.0, 2.8, rtt=0.05)  # it left within this report's window
    assert est.target == 6_000_000
    est.on_report(0.0, 3.5, rtt=0.05)  # it tested 3 Mbit/s, not 6: once only
    assert est.target == 6_000_000


def test_congestion_backs_off_to_below_what_was_delivered() -> None:
    est = LinkEstimator(start=1_000_000)
    for t in (1, 2, 3):
        feed(est, t, est.pace_rate)
        est.on_report(0.0, float(t), rtt=0.05)
    assert est.target == 8_000_000
    # The link carries less: what we push beyond fills its queue, then is dropped.
    feed(est, 4, 8_000_000)
    est.on_report(0.4, 4.0, rtt=0.15)
    delivered = est.send_rate(4.0) * 0.6
    assert est.target == int(delivered * 0.85)
    assert not est.slow_start and est.decreases == 1
    # The queue still drains at the next report: no second cut right away.
    feed(est, 4.5, 2_000_000, 0.5)
    est.on_report(0.1, 4.5, rtt=0.12)
    assert est.target == int(delivered * 0.85)
    # A report without a round trip does not reuse the old one; the hold (2 s) still applies.
    feed(est, 5.5, 1_700_000)
    est.on_report(0.0, 5.5)
    assert est.target == int(delivered * 0.85)
    # Then it climbs back quickly to where the link last held...
    feed(est, 6.5, est.pace_rate)
    est.on_report(0.0, 6.5, rtt=0.05)
    assert est.target == int(int(delivered * 0.85) * 1.25)
    # ...and beyond it only gently (5% a report).
    feed(est, 7.5, est.pace_rate)
    est.on_report(0.0, 7.5, rtt=0.05)
    assert est.target == int(int(int(delivered * 0.85) * 1.25) * 1.05)


def test_a_standing_queue_is_congestion() -> None:
    est = LinkEstimator(start=2_000_000)
    est.on_rtt(0.1, 0.0)
    feed(est, 1, 2_000_000)
    est.on_report(0.0, 1.0, rtt=0.2)  # once: maybe a busy moment
    assert est.decreases == 0
    feed(est, 2, 2_000_000)
    est.on_report(0.0, 2.0)  # no new round trip: neither for nor against
    feed(est, 3, 2_000_000)
    est.on_report(0.0, 3.0, rtt=0.19)  # twice in a row: the queue stays full
    assert est.decreases == 1


def test_heavy_loss_backs_off_even_without_delay() -> None:
    est = LinkEstimator(start=4_000_000)
    feed(est, 1, 4_000_000)
    est.on_report(0.2, 1.0, rtt=0.05)
    assert est.target == int(4_000_000 * 0.8 * 0.85)


def test_a_busy_machine_s_round_trip_alone_is_not_congestion() -> None:
    est = LinkEstimator(start=2_000_000)
    est.on_rtt(0.001, 0.0)
    feed(est, 1, 2_000_000)
    est.on_report(0.0, 1.0, rtt=0.15)  # 150 ms late: an event loop busy encoding, no loss
    assert est.decreases == 0 and est.target == 2_000_000  # no cut, and no probing either


def test_random_loss_alone_does_not_cut_the_rate() -> None:
    est = LinkEstimator(start=2_000_000)
    est.on_rtt(0.05, 0.0)
    for t in range(1, 6):
        feed(est, t, est.pace_rate)
        est.on_report(0.02, float(t), rtt=0.055)  # 2% loss, no queue: still probes
    assert est.target >= 2_000_000 and est.decreases == 0
    est.on_report(0.04, 6.0, rtt=0.055)  # more loss: stop probing, still no cut
    held = est.target
    feed(est, 7, est.pace_rate)
    est.on_report(0.04, 7.0, rtt=0.055)
    assert est.target == held and est.decreases == 0


def test_loss_with_a_growing_queue_is_congestion() -> None:
    est = LinkEstimator(start=2_000_000)
    est.on_rtt(0.05, 0.0)
    feed(est, 1, 2_000_000)
    est.on_report(0.03, 1.0, rtt=0.09)
    assert est.decreases == 1


def test_remb_lowers_only_when_our_own_signals_agree() -> None:
    est = LinkEstimator(start=4_000_000)
    est.on_rtt(0.05, 0.0)
    est.on_remb(3_000_000, 1.0)
    est.on_remb(1_000_000, 2.0)  # falling, but no queue and no loss: a busy receiver
    assert est.target == 4_000_000
    est.on_rtt(0.09, 2.2)  # 40 ms of queue, once: maybe a busy event loop
    est.on_remb(950_000, 2.3)
    assert est.target == 4_000_000
    est.on_rtt(0.09, 2.5)  # twice in a row: a queue
    est.on_remb(900_000, 3.0)
    assert est.target == int(4_000_000 * 0.85)  # at most 15%...
    est.on_remb(800_000, 3.1)
    assert est.target == int(4_000_000 * 0.85)  # ...a second
    feed(est, 3.2, 3_400_000)  # a report right after that measures congestion still cuts deeper
    est.on_report(0.2, 3.2, rtt=0.2)
    assert est.target == int(est.send_rate(3.2) * 0.8 * 0.85)


def test_ladder_lowers_frame_rate_then_resolution_then_chroma() -> None:
    seen = []
    for rate in (8_000_000, 2_000_000, 1_000_000, 500_000, 300_000, 180_000, 120_000):
        s = LinkEstimator(start=rate).settings()
        seen.append((s.fps, s.scale, s.chroma))
    fps = [f for f, _, _ in seen]
    scales = [s for _, s, _ in seen]
    assert fps == sorted(fps, reverse=True) and fps[0] == 40.0 and fps[1] >= 10
    assert scales == sorted(scales, reverse=True)
    # Frame rate first: full size and 4:4:4 hold until the frame rate is at its lowest.
    first_scaled = scales.index(next(s for s in scales if s < 1))
    assert fps[first_scaled - 1] == min(fps[:first_scaled]) and seen[first_scaled][2] == "yuv444p"
    assert seen[-1][2] == "yuv420p" and all(c == "yuv444p" for _, _, c in seen[:-1])
    assert LinkEstimator(start=500_000).settings() == RateSettings(500_000, 3.0, 1.0, "yuv444p")


def test_ladder_climbs_back_only_clearly_above_the_threshold() -> None:
    est = LinkEstimator(start=300_000)
    assert est.settings().scale == 0.75
    est.target = 360_000  # just above 350 kbit/s: stays scaled
    assert est.settings().scale == 0.75
    est.target = 430_000
    assert est.settings().scale == 1.0


def test_a_new_picture_size_waits_until_the_rate_has_stayed_low() -> None:
    est = LinkEstimator(start=500_000)
    assert est.settings(0.0).scale == 1.0
    est.target = 200_000
    s = est.settings(1.0)
    assert (s.fps, s.scale) == (3.0, 1.0)  # the frame rate goes down at once, the size waits
    est.target = 400_000  # a short dip: forgotten
    assert est.settings(5.0).scale == 1.0
    est.target = 200_000
    assert est.settings(6.0).scale == 1.0
    assert est.settings(15.0).scale == 1.0
    assert est.settings(16.5).scale == 0.5  # wanted for 10 s


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0.001, 2), st.integers(0, 50_000_000),
                          st.integers(0, 10_000_000)), max_size=60))
def test_target_stays_within_floor_and_ceiling(reports: list[tuple[float, float, int, int]]) -> None:
    est = LinkEstimator()
    now = 0.0
    for loss, rtt, remb, sent in reports:
        now += 0.7
        feed(est, now, sent, 0.7)
        est.on_report(loss, now, rtt=rtt)
        est.on_remb(remb, now)
        assert est.floor <= est.target <= est.ceiling
        s = est.settings()
        assert 1 <= s.fps <= est.max_fps and 0 < s.scale <= 1


def test_keyframe_requests_while_one_is_in_flight_are_ignored() -> None:
    limiter = KeyframeLimiter()
    assert limiter.due(0.0) is None
    limiter.request(0.0)
    assert limiter.due(0.0) == 0.0
    limiter.sent(0.0, send_seconds=0.5, rtt=0.1, frame_time=0.05)
    for t in (0.1, 0.3, 0.6):  # the receiver has not seen it yet: it keeps asking
        limiter.request(t)
    assert limiter.due(0.6) is None and limiter.ignored == 3
    limiter.request(0.7)  # after it could have arrived: a real new loss, but not before 1 s
    assert limiter.due(0.7) == KEYFRAME_INTERVAL - 0.7
    assert limiter.due(1.0) == 0.0


@given(st.lists(st.floats(0, 0.5), min_size=1, max_size=200))
def test_never_more_than_one_keyframe_per_interval(gaps: list[float]) -> None:
    """A storm of requests (one after each gap) with the keyframe sent as soon as allowed."""
    limiter = KeyframeLimiter()
    now, sent = 0.0, []
    for gap in gaps:
        now += gap
        limiter.request(now)
        if limiter.due(now) == 0.0:
            limiter.sent(now, 0.2, 0.1, 0.03)
            sent.append(now)
    assert all(b - a >= KEYFRAME_INTERVAL - 1e-9 for a, b in zip(sent, sent[1:]))


def test_pacer_spreads_a_big_frame_at_the_rate() -> None:
    pacer = Pacer(burst=0.005)
    waits = [pacer.schedule(1250, 0.0, 10_000_000) for _ in range(100)]  # 125 kB at 10 Mbit/s
    assert waits[:6] == [0.0] * 6 and waits[6] > 0  # the first 5 ms go at once
    assert abs(waits[-1] - (99 * 0.001 - 0.005)) < 1e-9
    assert abs(pacer.backlog(0.0) - 0.095) < 1e-9
    assert pacer.schedule(1250, 5.0, 1_000_000) == 0.0  # idle since: no wait


@given(st.lists(st.tuples(st.integers(1, 1500), st.floats(0, 0.01)), min_size=1, max_size=300),
       st.integers(100_000, 50_000_000))
def test_pacer_never_exceeds_its_rate_beyond_the_burst(packets: list[tuple[int, float]], rate: int) -> None:
    pacer = Pacer(burst=0.005)
    now, first = 0.0, None
    total = 0
    for size, gap in packets:
        now += gap
        at = now + pacer.schedule(size, now, rate)
        first = at if first is None else first
        total += size
        # Everything sent by `at` fits in the time since the first packet plus the burst.
        assert (total - size) * 8 / rate <= at - first + 0.005 + 1e-9


def test_pacer_counts_each_packet_s_wire_overhead() -> None:
    pacer = Pacer(burst=0.0, overhead=WIRE_OVERHEAD)
    for _ in range(100):
        pacer.schedule(1200 - WIRE_OVERHEAD, 0.0, 2_000_000)
    assert abs(pacer.backlog(0.0) - 100 * 1200 * 8 / 2_000_000) < 1e-9  # the link's bytes, not ours


@given(st.integers(50_000, 100_000_000))
def test_vbv_buffer_holds_a_new_screen_whole_but_never_more_than_seconds_of_the_rate(rate: int) -> None:
    new, motion = vbv_bufsize(rate, new_screen=True), vbv_bufsize(rate, new_screen=False)
    assert motion <= new <= rate * VBV_SECONDS
    # What one frame may take after a fresh start (libx264: half of a VBV_INIT-full buffer).
    first = new * VBV_INIT * VBV_FRAME_SHARE / 8
    assert first <= MAX_FRAME_BYTES + 1
    if rate >= 2_000_000:  # from 2 Mbit/s a whole readable text screen fits in one frame
        assert first >= MAX_FRAME_BYTES - 1 and motion * VBV_INIT * VBV_FRAME_SHARE / 8 <= MAX_FRAME_BYTES / 2


RATES = st.builds(RateSettings, st.integers(100_000, 40_000_000), st.sampled_from([2.0, 6.0, 20.0, 40.0]))


@given(RATES, RATES, st.floats(0, 1), st.booleans())
def test_a_new_screen_after_rest_always_starts_afresh(old: RateSettings, new: RateSettings, changed: float,
                                                     refining: bool) -> None:
    assert reopen_wanted(old, new, changed, new_screen=True, refining=refining)


def test_reopens_for_a_new_rate_only_when_it_pays() -> None:
    old = RateSettings(2_000_000, 20.0)
    assert not reopen_wanted(old, RateSettings(2_200_000, 20.0), 1.0, new_screen=False, refining=False)
    assert reopen_wanted(old, RateSettings(3_000_000, 20.0), 0.6, new_screen=False, refining=False)
    # A moving region (a quarter of the screen) during motion: only when the link fell far.
    assert not reopen_wanted(old, RateSettings(1_500_000, 20.0), 0.25, new_screen=False, refining=False)
    assert reopen_wanted(old, RateSettings(900_000, 20.0), 0.25, new_screen=False, refining=False)
    # Far below the link: with the next change, never on a still picture.
    assert reopen_wanted(old, RateSettings(9_000_000, 20.0), 0.01, new_screen=False, refining=False)
    assert not reopen_wanted(old, RateSettings(9_000_000, 20.0), 0.0, new_screen=False, refining=True)


def test_send_policy() -> None:
    policy = SendPolicy()
    assert policy.next_action(0, 0.0, 30) == 2.0  # nothing captured yet: wait
    assert policy.next_action(1, 0.0, 30) == Action("frame")
    policy.sent(Action("frame"), 1, 90_000, 0.0)
    wait = policy.next_action(1, 0.01, 30)
    assert isinstance(wait, float) and 0 < wait < 0.03  # the frame rate paces refinement
    assert policy.next_action(1, 0.04, 30) == Action("refine")
    policy.sent(Action("refine"), 1, 500, 0.04)
    assert policy.next_action(1, 0.08, 30) == Action("refine")  # one small frame is not enough
    policy.sent(Action("refine"), 1, 500, 0.08)
    assert isinstance(policy.next_action(1, 0.2, 30), float)  # converged: idle until refresh
    assert policy.next_action(1, 2.2, 30) == Action("refresh")
    policy.limiter.request(2.2)
    assert policy.next_action(1, 2.2, 30) == Action("keyframe")  # first request: at once
    policy.limiter.sent(2.2, 0.1, 0.1, 0.03)
    policy.sent(Action("keyframe"), 1, 50_000, 2.2)
    policy.limiter.request(2.8)  # after the in-flight window, within the second: later
    step = policy.next_action(1, 2.8, 30)
    assert step == Action("refine")  # a frame may go meanwhile
    wait = policy.next_action(1, 2.8, 1)
    assert isinstance(wait, float) and abs(wait - 0.4) < 1e-9


def test_small_frames_from_a_drained_vbv_buffer_do_not_end_refinement() -> None:
    policy = SendPolicy()
    policy.sent(Action("frame"), 1, 90_000, 0.0)  # a first picture that drained the buffer
    for i in range(1, 4):  # libx264 refills it with small frames: the picture is not done
        policy.sent(Action("refine"), 1, 1_500, i * 0.05, room=False)
        assert policy.refining
    policy.sent(Action("refine"), 1, 9_000, 0.2)
    policy.sent(Action("refine"), 1, 100, 0.25)
    policy.sent(Action("refine"), 1, 90, 0.3, room=False)  # small, but may be the VBV: one more
    assert policy.refining
    policy.sent(Action("refine"), 1, 90, 0.35)
    policy.sent(Action("refine"), 1, 90, 0.4)
    assert not policy.refining  # two small frames from a buffer with room: done


def test_small_frames_without_room_do_not_end_refinement() -> None:
    policy = SendPolicy()
    policy.sent(Action("keyframe"), 1, 200_000, 0.0)
    for i in range(1, 6):  # the VBV buffer is empty after the keyframe: small, but not settled
        assert policy.next_action(1, i * 0.1, 20) == Action("refine")
        policy.sent(Action("refine"), 1, 2_000, i * 0.1, room=False)
    policy.sent(Action("refine"), 1, 2_000, 0.6, room=True)
    assert policy.next_action(1, 0.7, 20) == Action("refine")
    policy.sent(Action("refine"), 1, 2_000, 0.7, room=True)
    assert isinstance(policy.next_action(1, 0.8, 20), float)  # now it has nothing to add


def test_refinement_is_budgeted_in_bytes_not_frames() -> None:
    policy = SendPolicy()
    policy.sent(Action("frame"), 1, 40_000, 0.0)
    now, spent, frames = 0.0, 0, 0
    while True:
        now += 0.1
        step = policy.next_action(1, now, 10)
        if step != Action("refine"):
            break
        policy.sent(step, 1, 40_000, now)  # a thin link: every refinement is capped, never small
        spent += 40_000
        frames += 1
    assert frames > 45  # more than the old frame budget: a thin link needs them
    assert spent >= REFINE_BYTES and spent < REFINE_BYTES + 40_000


def test_a_new_screen_being_painted_after_rest_is_sent_once_it_stops_growing() -> None:
    policy = SendPolicy()
    policy.sent(Action("refine"), 1, 500, 0.0)  # at rest
    assert policy.next_action(2, 1.0, 20, changed=0.1) == Action("frame")  # a small change: at once
    assert policy.next_action(2, 1.0, 20, changed=0.3) == SETTLE_STEP  # a big one: still growing?
    assert policy.next_action(2, 1.03, 20, changed=0.45) == SETTLE_STEP
    assert policy.next_action(2, 1.06, 20, changed=0.45) == Action("frame")  # it stopped
    assert policy.next_action(2, 1.06, 20, changed=0.6) == Action("frame")  # half or more: at once
    policy.sent(Action("frame"), 2, 50_000, 1.06)
    # During motion nothing waits, however big the region.
    assert policy.next_action(3, 2.0, 20, changed=0.3) == Action("frame")
    policy.sent(Action("refresh"), 3, 500, 3.0)
    now, changed = 4.0, 0.2
    while (step := policy.next_action(4, now, 20, changed)) != Action("frame"):  # growing forever
        now, changed = now + step, changed + 0.01
    assert 4.0 + SETTLE_MAX <= now < 4.0 + SETTLE_MAX + SETTLE_STEP + 1e-9


def test_a_lossy_link_gets_new_screens_in_capped_frames() -> None:
    est = LinkEstimator(start=2_000_000)
    assert est.settings().whole_screens
    for t in range(1, 4):
        est.on_report(0.02, float(t), rtt=0.05)  # 2% random loss: not congestion, but...
    assert not est.settings().whole_screens and est.target == 2_000_000
    for t in range(4, 12):
        est.on_report(0.0, float(t), rtt=0.05)
    assert est.settings().whole_screens
    assert not LinkEstimator(start=5_000_000).settings().whole_screens  # a fast link: bytes are cheap


def test_motion_gets_more_frames_when_they_are_small_enough_for_the_target() -> None:
    rate = FrameRate()
    twenty = RateSettings(2_500_000, 20.0)
    assert rate.fps(twenty, 0.0, 40.0) == 20.0  # no motion yet: the ladder's
    for i in range(10):
        rate.on_frame(8_000, i * 0.05)
    fps = rate.fps(twenty, 0.5, 40.0)
    # Enough frames of 8 kB (plus their packets' overhead) to fill 90% of the target.
    assert 20.0 < fps < 40.0 and abs(fps * 8 * (8_000 + 7 * WIRE_OVERHEAD) - 0.9 * 2_500_000) < 1
    assert rate.fps(RateSettings(8_000_000, 40.0), 0.5, 40.0) == 40.0  # never above the most
    assert rate.fps(RateSettings(180_000, 3.0), 0.5, 40.0) == 3.0  # frames too big for more
    assert rate.fps(twenty, 1.6, 40.0) == 20.0  # the motion stopped a while ago


@given(st.lists(st.tuples(st.floats(0, 0.2), st.integers(0, 400_000)), max_size=50),
       st.integers(100_000, 40_000_000), st.sampled_from([2.0, 3.0, 6.0, 20.0, 40.0]))
def test_motion_frame_rate_stays_between_the_ladder_s_and_the_most(frames: list[tuple[float, int]], bitrate: int,
                                                                   ladder_fps: float) -> None:
    rate, now = FrameRate(), 0.0
    for gap, nbytes in frames:
        now += gap
        rate.on_frame(nbytes, now)
        fps = rate.fps(RateSettings(bitrate, ladder_fps), now, 40.0)
        assert ladder_fps <= fps <= 40.0


@given(st.integers(1_000, 200_000), st.integers(100_000, 40_000_000))
def test_motion_at_its_frame_rate_never_asks_for_more_than_the_target(nbytes: int, bitrate: int) -> None:
    """More frames than the ladder's only while they fit the target: the sender tests the link
    (>= 75% of the target counts as a test) without pushing beyond what the estimator allows."""
    rate = FrameRate()
    for i in range(10):
        rate.on_frame(nbytes, i * 0.05)
    settings = RateSettings(bitrate, 20.0)
    fps = rate.fps(settings, 0.5, 40.0)
    if fps > settings.fps:
        assert fps * nbytes * 8 <= 0.9 * bitrate + 1
        assert fps == 40.0 or fps * (nbytes + WIRE_OVERHEAD * -(-nbytes // 1200)) * 8 >= 0.9 * bitrate - 1


def test_motion_is_not_re_encoded_until_it_pauses() -> None:
    policy = SendPolicy()
    policy.sent(Action("refine"), 1, 500, 0.0)  # at rest
    policy.sent(Action("frame"), 2, 30_000, 1.0)  # a single change: sharpened at the frame rate
    assert policy.next_action(2, 1.05, 20) == Action("refine")
    policy.sent(Action("frame"), 3, 8_000, 1.05)
    policy.sent(Action("frame"), 4, 8_000, 1.1)  # motion: a newer picture is on its way
    wait = policy.next_action(4, 1.15, 20)
    assert isinstance(wait, float) and abs(wait - (MOTION_PAUSE - 0.05)) < 1e-9
    assert policy.next_action(5, 1.16, 20) == Action("frame")  # it came
    assert policy.next_action(4, 1.1 + MOTION_PAUSE, 20) == Action("refine")  # it paused


def test_a_paced_frame_that_mostly_got_lost_cuts_to_what_the_link_delivered() -> None:
    """The first picture at 1.5 Mbit/s through a 500 kbit/s link: most of it overflows the
    queue. The cut goes to about what got through, not 15% below the target."""
    est = LinkEstimator()
    est.on_sent(75_000, 0.1)  # 0.4 s at the target
    est.on_report(0.6, 1.0, rtt=0.05)
    assert est.target == int(1_500_000 * 0.4 * 0.85)
    # A delay-only congestion while sending little (no loss to go by): from the target.
    est = LinkEstimator(start=2_000_000)
    est.on_rtt(0.05, 0.0)
    for t in (1.0, 2.0):
        est.on_sent(50_000, t - 0.5)
        est.on_report(0.0, t, rtt=0.2)
    assert est.target == int(2_000_000 * 0.85)


def test_motion_gets_more_frames_only_while_the_link_is_clean() -> None:
    est = LinkEstimator(start=2_500_000)
    est.on_rtt(0.05, 0.0)
    rate = FrameRate()
    for i in range(10):
        rate.on_frame(8_000, i * 0.05)
    assert est.clean() and rate.fps(est.settings(), 0.5, 40.0, est.clean()) > 20.0
    est.on_report(0.0, 1.0, rtt=0.09)  # 40 ms of queue: the link is at its limit
    assert not est.clean() and rate.fps(est.settings(), 0.5, 40.0, est.clean()) == 20.0
    est.on_report(0.01, 2.0, rtt=0.05)  # no queue, but loss
    assert not est.clean()
    for t in (3.0, 4.0, 5.0):
        est.on_report(0.0, t, rtt=0.05)
    assert est.clean()


def test_the_rate_climbs_on_a_clean_application_limited_link() -> None:
    """A scrolling region at 20 fps sends ~1.9 Mbit/s: below 75% of 3 Mbit/s, so it tests
    nothing, yet it held the rate (and so 20 fps) below the ladder's 3 Mbit/s step for good."""
    est = LinkEstimator()
    est.on_rtt(0.002, 0.0)
    for t in range(1, 5):
        feed(est, t, 1_900_000)
        est.on_report(0.0, float(t), rtt=0.002)
    assert est.target == int(2 * est.delivered_rate(4.0, 1.0)) and est.settings().fps == 40.0
    assert est.target < 2 * 1_900_000 + 1
    # A queue: no more climbing while application-limited.
    est = LinkEstimator(start=3_000_000)
    est.on_rtt(0.002, 0.0)
    feed(est, 1, 1_900_000)
    est.on_report(0.0, 1.0, rtt=0.05)
    assert est.target == 3_000_000
    # Past slow start (a link that overflowed once): gently, up to 1.5 times what it carried.
    est = LinkEstimator(start=3_000_000)
    est.on_rtt(0.002, 0.0)
    feed(est, 1, 3_000_000)
    est.on_report(0.2, 1.0, rtt=0.002)
    cut = est.target
    for t in range(4, 12):
        feed(est, t, 0.7 * cut)
        est.on_report(0.0, float(t), rtt=0.002)
    assert cut < est.target <= 1.5 * 0.7 * cut + 1
    # Sending little (an idle screen, keep-alive frames) raises nothing.
    held = est.target
    for t in range(12, 20):
        feed(est, t, 30_000)
        est.on_report(0.0, float(t), rtt=0.002)
    assert est.target == held
