"""Monitor listing, the no-display error, and the capture thread against a real Xvfb screen."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.errors import UsageError
from rassist.media.capture import (
    NoDisplayError,
    ScreenCapturer,
    ScreenUpdate,
    changed_box,
    list_monitors,
    pick_monitor,
)
from tests.media.conftest import Painter, text_screen


def test_changed_box_finds_the_smallest_rectangle() -> None:
    old = np.zeros((40, 60, 4), np.uint8)
    new = old.copy()
    assert changed_box(old, new) is None
    new[5, 7, 1] = 9
    new[20, 30, 0] = 1
    assert changed_box(old, new) == (7, 5, 24, 16)


def test_no_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(NoDisplayError) as info:
        list_monitors()
    assert info.value.message.startswith("no display to capture: ")
    assert info.value.kind == "no-display"


def test_unreachable_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":999")  # the test range keeps no server there
    with pytest.raises(NoDisplayError, match="no display to capture: "):
        pick_monitor()


def test_monitors_of_the_virtual_screen(display_env: str) -> None:
    monitors = list_monitors()
    assert [(m.index, m.width, m.height) for m in monitors] == [(1, 1920, 1080)]
    assert pick_monitor().primary
    assert pick_monitor(1) == monitors[0]
    with pytest.raises(UsageError, match="no monitor 3"):
        pick_monitor(3)


def _next(updates: "queue.Queue[ScreenUpdate]") -> ScreenUpdate:
    return updates.get(timeout=10)


def test_capturer_sends_the_screen_then_only_what_changed(painter: Painter) -> None:
    picture = text_screen(seed=4)
    painter.put(picture)
    updates: queue.Queue[ScreenUpdate] = queue.Queue()
    capturer = ScreenCapturer(pick_monitor(), updates.put, with_cursor=False)
    capturer.start()
    try:
        first = _next(updates)
        assert first.full and (first.width, first.height) == (1920, 1080)
        assert np.array_equal(first.pixels[..., 2::-1], picture)

        patch = np.full((50, 80, 3), (200, 40, 90), np.uint8)
        painter.put(patch, 300, 200)
        update = _next(updates)
        while not (update.x <= 300 and update.y <= 200 and update.x + update.width >= 380
                   and update.y + update.height >= 250):
            update = _next(updates)  # a grab may have caught the drawing half done
        assert not update.full
        assert update.width * update.height < 1920 * 1080 // 4  # a rectangle, not the screen
        x, y = 300 - update.x, 200 - update.y
        assert np.array_equal(update.pixels[y:y + 50, x:x + 80, 2::-1], patch)
        assert capturer.mode == "damage"  # Xvfb has the DAMAGE extension
    finally:
        capturer.stop()


def test_capturer_polls_without_damage(painter: Painter) -> None:
    painter.put(text_screen(seed=5))
    updates: queue.Queue[ScreenUpdate] = queue.Queue()
    capturer = ScreenCapturer(pick_monitor(), updates.put, with_cursor=False, use_damage=False)
    capturer.start()
    try:
        assert _next(updates).full
        patch = np.full((30, 40, 3), 255, np.uint8)
        painter.put(patch, 1000, 900)
        update = _next(updates)
        assert capturer.mode == "poll"
        assert (update.x, update.y, update.width, update.height) == (1000, 900, 40, 30)
    finally:
        capturer.stop()


def _pointer_update(updates: "queue.Queue[ScreenUpdate]", x: int, y: int) -> ScreenUpdate:
    """The first update that covers the pointer at (x, y) (mss paints the cursor into grabs)."""
    while True:
        update = _next(updates)
        if update.x <= x < update.x + update.width and update.y <= y < update.y + update.height:
            return update


@contextlib.contextmanager
def _capturing(painter: Painter, seed: int,
               with_cursor: bool) -> Iterator[tuple[queue.Queue[ScreenUpdate], ScreenCapturer, Any]]:
    """A capturer of a fresh text screen, past its first (full) picture, and an X connection to
    move the pointer with."""
    from Xlib import display

    painter.put(text_screen(seed=seed))
    updates: queue.Queue[ScreenUpdate] = queue.Queue()
    capturer = ScreenCapturer(pick_monitor(), updates.put, with_cursor=with_cursor)
    mover = display.Display()
    capturer.start()
    try:
        assert _next(updates).full
        yield updates, capturer, mover
    finally:
        capturer.stop()
        mover.close()


@pytest.mark.parametrize("how", ["xtest", "warp"])
def test_pointer_moves_on_an_idle_screen_are_captured(painter: Painter, how: str) -> None:
    """The watcher sleeps on an idle screen; a pointer moved by input (XTest: raw motion events)
    or by a warp (no event: the slow poll) still reaches the viewer."""
    from Xlib import X

    with _capturing(painter, 6, with_cursor=True) as (updates, capturer, mover):
        for x, y in ((700, 300), (1500, 800)):
            if how == "xtest":
                mover.xtest_fake_input(X.MotionNotify, x=x, y=y)
            else:
                mover.screen().root.warp_pointer(x, y)
            mover.sync()
            update = _pointer_update(updates, x, y)
            assert update.width * update.height < 1920 * 1080 // 4
        assert capturer.mode == "damage"


def test_capturer_without_cursor_leaves_the_pointer_alone(painter: Painter) -> None:
    from Xlib import X

    with _capturing(painter, 7, with_cursor=False) as (updates, capturer, mover):
        mover.xtest_fake_input(X.MotionNotify, x=400, y=400)
        mover.sync()
        painter.put(np.full((20, 20, 3), 255, np.uint8), 1800, 1000)
        update = _next(updates)  # the patch, not a pointer box before it
        assert (update.x, update.y, update.width, update.height) == (1800, 1000, 20, 20)
        capturer.refresh()
        assert _next(updates).full


def _reference_box(old: np.ndarray, new: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(np.any(old != new, axis=2))
    if ys.size == 0:
        return None
    return (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 7), st.integers(0, 7),
       st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.integers(1, 255)), max_size=6),
       st.integers(0, 2**32 - 1))
def test_changed_box_matches_a_pixel_by_pixel_search(height: int, width: int, top: int, left: int,
                                                     edits: list[tuple[int, int, int]], seed: int) -> None:
    """Also on a window into a bigger picture (what the capturer compares: its mirror's rows
    are strided)."""
    rng = np.random.default_rng(seed)
    mirror = rng.integers(0, 256, (height + top + 3, width + left + 5, 4), dtype=np.uint8)
    old = mirror[top:top + height, left:left + width]
    new = old.copy()
    for where, channel, delta in edits:
        y, x = divmod(where % (height * width), width)
        new[y, x, channel] ^= delta
    assert changed_box(old, new) == _reference_box(old, new)
