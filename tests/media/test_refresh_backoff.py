"""SendPolicy's keep-alive frames on an idle screen: the first soon, then backing off."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.media.screen_track import REFRESH, REFRESH_DETAIL, REFRESH_MAX, Action, SendPolicy


def test_keep_alive_frames_back_off_on_an_idle_screen() -> None:
    policy = SendPolicy()
    policy.sent(Action("refine"), 1, 500, 0.0)
    policy.sent(Action("refine"), 1, 500, 0.05)  # converged
    at, gaps = 0.05, []
    for _ in range(5):
        wait = policy.next_action(1, at, 30)
        assert isinstance(wait, float)
        assert policy.next_action(1, at + wait - 1e-6, 30) != Action("refresh")
        assert policy.next_action(1, at + wait, 30) == Action("refresh")
        policy.sent(Action("refresh"), 1, 500, at + wait)
        gaps.append(wait)
        at += wait
    assert gaps == pytest.approx([REFRESH, 2 * REFRESH, 4 * REFRESH, REFRESH_MAX, REFRESH_MAX])
    # A keep-alive that still sharpened the picture (not tiny) brings the next one at REFRESH.
    policy.sent(Action("refresh"), 1, REFRESH_DETAIL + 1, at)
    assert policy.next_action(1, at, 30) == pytest.approx(REFRESH)
    policy.sent(Action("refresh"), 1, 500, at)
    assert policy.next_action(1, at, 30) == pytest.approx(2 * REFRESH)
    # A change starts over: the first keep-alive after it comes REFRESH after its last frame.
    policy.sent(Action("frame"), 2, 9_000, at + 1)
    policy.sent(Action("refine"), 2, 500, at + 1.05)
    policy.sent(Action("refine"), 2, 500, at + 1.1)
    assert policy.next_action(2, at + 1.1, 30) == pytest.approx(REFRESH)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["frame", "keyframe", "refine", "refresh"]),
                          st.floats(0.001, 20.0), st.integers(0, 3 * REFRESH_DETAIL)), min_size=1, max_size=30))
def test_an_idle_screen_is_refreshed_within_refresh_max(sends: list[tuple[str, float, int]]) -> None:
    """Whatever was sent before, an unchanged and sharpened screen gets a keep-alive within
    REFRESH_MAX of the last frame, and never sooner than REFRESH after it."""
    policy = SendPolicy()
    now = 0.0
    for kind, gap, nbytes in sends:
        now += gap
        policy.sent(Action(kind), 1, nbytes, now)
    policy.refining = False
    wait = policy.next_action(1, now, 30)
    assert isinstance(wait, float) and REFRESH - 1e-9 <= wait <= REFRESH_MAX + 1e-9
