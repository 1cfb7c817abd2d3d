"""The annotation overlay on a real X server (Xvfb): the right pixels, see-through for input,
fading and clearing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from rassist.media.inject import Monitor
from rassist.media.overlay import Overlay
from rassist.protocol.annotate import Board, Label, Point, Stroke
from tests.media.input_fixtures import KeyLog

pytestmark = pytest.mark.display
SCREEN = Monitor(0, 0, 1920, 1080)
WAIT = 10.0


def pixel(x: int, y: int) -> tuple[int, int, int]:
    import mss

    with mss.MSS() as grab:
        shot = grab.grab({"left": x, "top": y, "width": 1, "height": 1})
        return shot.pixel(0, 0)


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def reddish(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > 200 and g < 120 and b < 120


@pytest.fixture
def overlay(display_env: str, keylog: KeyLog) -> Iterator[Overlay]:
    """An overlay over a white full-screen window that logs the clicks it gets."""
    board = Board()
    board.join("helper", "helper@box")  # the first colour: #ff3b30
    drawn = Overlay(board, SCREEN)
    drawn.start()
    try:
        yield drawn
    finally:
        drawn.close()


def put(overlay: Overlay, mark: object, at: float | None = None) -> None:
    with overlay.lock:
        overlay.board.add("helper", mark, time.monotonic() if at is None else at)  # type: ignore[arg-type]
    overlay.wake()


def test_marks_land_on_the_right_pixels_and_nowhere_else(overlay: Overlay) -> None:
    assert pixel(960, 540) == (255, 255, 255)
    put(overlay, Point((0.5, 0.5)))
    put(overlay, Stroke(((0.1, 0.2), (0.3, 0.2)), pin=True))
    put(overlay, Label("this one", (0.7, 0.8), pin=True))
    until(lambda: reddish(pixel(960, 540)), "the pointer at the middle of the screen")
    until(lambda: reddish(pixel(384, 216)), "the stroke")  # 0.2 of 1080 = 216
    until(lambda: reddish(pixel(1344 + 2, 864 - 2)), "the label's box")
    for x, y in ((100, 100), (960, 600), (384, 240), (1800, 1000)):
        assert pixel(x, y) == (255, 255, 255), (x, y)  # only drawn pixels belong to the overlay


def test_clicks_go_through_to_the_window_below(overlay: Overlay, keylog: KeyLog, display_env: str) -> None:
    import subprocess

    put(overlay, Stroke(((0.4, 0.5), (0.6, 0.5)), pin=True))
    until(lambda: reddish(pixel(960, 540)), "the stroke")
    subprocess.run(["xdotool", "mousemove", "960", "540", "click", "1"], check=True,
                   env={"DISPLAY": display_env})
    press = keylog.until(lambda e: e["type"] == "ButtonPress")[-1]
    assert (press["code"], press["x"], press["y"]) == (1, 960, 540)


def test_marks_fade_and_clear(overlay: Overlay) -> None:
    put(overlay, Point((0.25, 0.25)))
    until(lambda: reddish(pixel(480, 270)), "the pointer")
    started = time.monotonic()
    until(lambda: pixel(480, 270) == (255, 255, 255), "the pointer to fade")
    assert time.monotonic() - started < 3.0  # a trail is gone within about 1.5 s
    put(overlay, Stroke(((0.5, 0.1), (0.5, 0.3)), pin=True))
    until(lambda: reddish(pixel(960, 216)), "the pinned stroke")
    with overlay.lock:
        overlay.board.clear()
    overlay.wake()
    until(lambda: pixel(960, 216) == (255, 255, 255), "the clear")


def test_unpinned_strokes_fade_after_their_time(overlay: Overlay) -> None:
    put(overlay, Stroke(((0.5, 0.6), (0.5, 0.7))), at=time.monotonic() - 9.5)  # drawn 9.5 s ago
    until(lambda: reddish(pixel(960, 702)), "the stroke")
    until(lambda: pixel(960, 702) == (255, 255, 255), "the stroke to fade at 10 s")
