"""Local input wins (pure): what counts as the person at the host, and the suspend window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.protocol.local_input import ECHO_WINDOW, SUSPEND, LocalInputGuard, Observed


def test_a_real_device_always_counts_as_local_and_suspends_for_a_second() -> None:
    guard = LocalInputGuard()
    guard.injected("key", 38, True, 0.0)
    assert guard.observed(Observed("key", 38, True, xtest=False), 0.1)  # same key, but a real keyboard
    assert not guard.allows(0.1) and not guard.allows(0.1 + SUSPEND - 0.01)
    assert guard.allows(0.1 + SUSPEND)


def test_the_echo_of_what_we_injected_is_not_local() -> None:
    guard = LocalInputGuard()
    for kind, detail, down in (("key", 38, True), ("key", 38, False), ("button", 1, True), ("motion", 0, True)):
        guard.injected(kind, detail, down, 0.0)
    assert not guard.observed(Observed("motion", 0, True, xtest=True), 0.05)
    assert not guard.observed(Observed("button", 1, True, xtest=True), 0.05)
    assert not guard.observed(Observed("key", 38, True, xtest=True), 0.05)
    assert not guard.observed(Observed("key", 38, False, xtest=True), 0.05)
    assert guard.allows(0.05) and guard.local_events == 0
    # each echo matches once: a second identical event is someone else's
    assert guard.observed(Observed("key", 38, True, xtest=True), 0.06)


def test_faked_input_that_we_did_not_send_is_local() -> None:
    guard = LocalInputGuard()
    guard.injected("key", 38, True, 0.0)
    assert guard.observed(Observed("key", 71, True, xtest=True), 0.01)  # another key (xdotool)
    assert guard.observed(Observed("key", 38, False, xtest=True), 0.01)  # the other direction
    guard2 = LocalInputGuard()
    guard2.injected("key", 38, True, 0.0)
    assert guard2.observed(Observed("key", 38, True, xtest=True), ECHO_WINDOW + 0.1)  # too late to be ours


def test_key_repeats_are_not_new_input() -> None:
    guard = LocalInputGuard()
    assert not guard.observed(Observed("key", 38, True, xtest=False, repeat=True), 0.0)
    assert guard.allows(0.0)


def test_transitions_are_reported_once_each() -> None:
    guard = LocalInputGuard(suspend=1.0)
    assert guard.transition(0.0) is None
    guard.observed(Observed("motion", 0, True, xtest=False), 1.0)
    assert guard.transition(1.0) == "paused"
    assert guard.transition(1.5) is None
    guard.observed(Observed("motion", 0, True, xtest=False), 1.8)  # still moving: extends
    assert guard.transition(2.5) is None and not guard.allows(2.5)
    assert guard.transition(2.8) == "resumed"
    assert guard.transition(3.0) is None


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        LocalInputGuard().injected("wheel", 4, True, 0.0)


events = st.tuples(st.sampled_from(("key", "button", "motion")), st.integers(0, 255), st.booleans(),
                   st.booleans(), st.floats(0, 0.5))


@given(st.lists(events, max_size=60))
def test_remote_input_is_allowed_exactly_when_no_local_event_came_within_the_window(
        seq: list[tuple[str, int, bool, bool, float]]) -> None:
    guard = LocalInputGuard()
    now, last_local = 0.0, float("-inf")
    for kind, detail, down, xtest, step in seq:
        now += step
        if xtest and detail % 2:  # half of the faked events are ours
            guard.injected(kind, detail, down, now)
        local = guard.observed(Observed(kind, detail, down, xtest), now)
        if xtest and detail % 2:
            assert not local  # the echo of what we just injected
        if local:
            last_local = now
        assert guard.allows(now) == (now >= last_local + SUSPEND)
        if not xtest:
            assert last_local == now  # a real device is always local

