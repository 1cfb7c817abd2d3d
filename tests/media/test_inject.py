"""The XTEST injector against a real Xvfb: pixels, keys, text, and letting go of everything."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.media.inject import AsyncInjector, Injector, Monitor
from rassist.protocol.input import Button, Key, Move, Text, Wheel, parse_command
from tests.media.input_fixtures import ROOT, KeyLog, XServer, xdotool_location

SCREEN = Monitor(0, 0, 1920, 1080)


# ------------------------------------------------------------------ geometry (no display)

def test_fractions_map_to_pixels_of_the_monitor() -> None:
    assert SCREEN.pixel(0.25, 0.75) == (480, 810)
    assert SCREEN.pixel(0.0, 0.0) == (0, 0)
    assert SCREEN.pixel(1.0, 1.0) == (1919, 1079)
    assert SCREEN.pixel(0.5, 0.5) == (960, 540)
    second = Monitor(1920, 0, 1280, 1024)  # a monitor right of the first
    assert second.pixel(0.5, 0.5) == (2560, 512)
    assert second.pixel(1.0, 0.0) == (3199, 0)
    assert Monitor.from_mss({"left": -800, "top": 100, "width": 800, "height": 600}).pixel(0, 1) == (-800, 699)
    with pytest.raises(ValueError):
        Monitor(0, 0, 0, 600)


@given(st.integers(1, 8000), st.integers(1, 8000), st.data())
def test_every_pixel_is_reachable_from_its_own_fraction(width: int, height: int, data: st.DataObject) -> None:
    monitor = Monitor(-3, 7, width, height)
    px = data.draw(st.integers(0, width - 1))
    py = data.draw(st.integers(0, height - 1))
    assert monitor.pixel(px / width, py / height) == (px - 3, py + 7)
    assert monitor.pixel((px + 0.5) / width, (py + 0.5) / height) == (px - 3, py + 7)


@given(st.floats(0, 1), st.floats(0, 1))
def test_no_fraction_leaves_the_monitor(x: float, y: float) -> None:
    monitor = Monitor(100, 50, 1366, 768)
    px, py = monitor.pixel(x, y)
    assert 100 <= px < 100 + 1366 and 50 <= py < 50 + 768


# ------------------------------------------------------------------ without a display

def test_without_display_the_injector_says_so_and_importing_is_safe() -> None:
    code = ("from rassist.media.inject import Injector, InjectorUnavailable, Monitor\n"
            "try:\n    Injector(Monitor(0, 0, 10, 10))\n"
            "except InjectorUnavailable as exc:\n    print('refused:', exc)\n")
    for display in ("", ":9876"):
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        if display:
            env["DISPLAY"] = display
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        if display:
            assert f"refused: cannot inject input into X display {display}" in out.stdout
        else:
            assert "refused: remote control needs an X display, and DISPLAY is not set" in out.stdout


# ------------------------------------------------------------------ under Xvfb

@pytest.fixture
def injector(display_env: str) -> Iterator[Injector]:
    made = Injector(SCREEN)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.display
def test_click_lands_on_the_right_pixel(injector: Injector, keylog: KeyLog, display_env: str) -> None:
    injector.apply_all(parse_command({"click": [0.25, 0.75]}))
    press, release = keylog.take(2)
    assert (press["type"], press["code"], press["x"], press["y"]) == ("ButtonPress", 1, 480, 810)
    assert (release["type"], release["code"]) == ("ButtonRelease", 1)
    assert not press["synthetic"]
    assert xdotool_location(display_env) == (480, 810)


@pytest.mark.display
def test_a_smaller_monitor_at_an_offset_maps_into_its_own_rectangle(display_env: str, xserver: XServer) -> None:
    injector = Injector(Monitor(100, 50, 800, 600))
    try:
        injector.apply(Move(0.5, 0.5))
        assert xserver.pointer()[:2] == (500, 350)
        injector.apply(Move(1.0, 1.0))
        assert xdotool_location(display_env) == (899, 649)
    finally:
        injector.close()


@pytest.mark.display
def test_buttons_and_wheel(injector: Injector, keylog: KeyLog) -> None:
    injector.apply_all([Move(0.5, 0.5), Button("right", True), Button("right", False),
                        Button("middle", True), Button("middle", False), Wheel(0, 2), Wheel(-1, 0)])
    got = [(e["type"], e["code"]) for e in keylog.take(10)]
    assert got == [("ButtonPress", 3), ("ButtonRelease", 3), ("ButtonPress", 2), ("ButtonRelease", 2),
                   ("ButtonPress", 5), ("ButtonRelease", 5), ("ButtonPress", 5), ("ButtonRelease", 5),
                   ("ButtonPress", 6), ("ButtonRelease", 6)]  # dy > 0 scrolls down, dx < 0 left


@pytest.mark.display
def test_typed_text_reaches_the_focused_window(injector: Injector, keylog: KeyLog) -> None:
    injector.apply(Text("Hi +x\n"))
    presses = [e for e in keylog.until(lambda e: e["key"] == "Return" and e["type"] == "KeyRelease")
               if e["type"] == "KeyPress"]
    typed = [e["char"] for e in presses if e["char"] is not None]
    assert "".join(typed) == "Hi +x"
    assert [e["key"] for e in presses] == ["Shift_L", "H", "i", "space", "Shift_L", "plus", "x", "Return"]
    assert not any(e["synthetic"] for e in presses)  # XTEST: real typing for every X client


@pytest.mark.display
def test_a_character_off_the_keyboard_map_still_arrives(injector: Injector, keylog: KeyLog) -> None:
    injector.apply(Text("é"))
    press = keylog.until(lambda e: e["type"] == "KeyPress")[-1]
    assert press["char"] == "é"


@pytest.mark.display
def test_a_chord_is_pressed_in_order_and_released_in_reverse(injector: Injector, keylog: KeyLog) -> None:
    injector.apply_all(parse_command({"key": "ctrl+alt+t"}))
    got = keylog.take(6)
    assert [(e["type"], e["key"]) for e in got] == [
        ("KeyPress", "Control_L"), ("KeyPress", "Alt_L"), ("KeyPress", "t"),
        ("KeyRelease", "t"), ("KeyRelease", "Alt_L"), ("KeyRelease", "Control_L")]
    assert got[2]["state"] & 0x4 and got[2]["state"] & 0x8  # ControlMask and Mod1Mask while t goes down


@pytest.mark.display
def test_release_all_leaves_nothing_pressed(injector: Injector, xserver: XServer, keylog: KeyLog) -> None:
    injector.apply_all([Move(0.1, 0.1), Key("ctrl", True), Key("shift", True), Key("A", True),
                        Key("f5", True), Button("left", True), Button("right", True)])
    shift, ctrl = xserver.keycode("Shift_L"), xserver.keycode("Control_L")
    assert {shift, ctrl, xserver.keycode("a"), xserver.keycode("F5")} <= set(xserver.pressed_keycodes())
    assert xserver.pointer()[2] == 0x100 | 0x400  # Button1Mask | Button3Mask
    assert injector.held == (["ctrl", "shift", "A", "f5"], ["left", "right"])
    assert injector.release_all() == ["right", "left", "f5", "A", "shift", "ctrl"]
    assert xserver.pressed_keycodes() == []
    assert xserver.pointer()[2] == 0
    assert injector.held == ([], [])
    assert injector.release_all() == []


@pytest.mark.display
def test_a_capital_held_by_itself_brings_its_shift_and_lets_go_of_it(injector: Injector, xserver: XServer) -> None:
    injector.apply(Key("A", True))
    assert set(xserver.pressed_keycodes()) == {xserver.keycode("Shift_L"), xserver.keycode("a")}
    injector.apply(Key("A", False))
    assert xserver.pressed_keycodes() == []


async def test_async_injector_runs_off_the_event_loop_in_order(display_env: str, xserver: XServer) -> None:
    injector = AsyncInjector(SCREEN)
    await injector.open()
    try:
        await injector.apply_all([Move(0.25, 0.75), Key("ctrl", True)])
        assert xserver.pointer()[:2] == (480, 810)
        assert await injector.held() == (["ctrl"], [])
        assert await injector.release_all() == ["ctrl"]
        assert xserver.pressed_keycodes() == []
    finally:
        await injector.close()


# ------------------------------------------------------------------ no compiler needed

def test_the_package_does_not_depend_on_pynput_or_evdev() -> None:
    """pynput pulls evdev, which has no wheel (installing it needs a C compiler and Python
    headers); injection goes through python-xlib's XTEST instead, which is pure Python."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {dep.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for dep in deps}
    assert not names & {"pynput", "evdev"}
    assert "python-xlib" in names


@pytest.mark.display
def test_injection_works_where_pynput_and_evdev_cannot_be_imported(display_env: str, keylog: KeyLog) -> None:
    code = ("import sys\nsys.modules['pynput'] = None\nsys.modules['evdev'] = None\n"
            "from rassist.media.inject import Injector, Monitor\nfrom rassist.protocol.input import Text\n"
            "injector = Injector(Monitor(0, 0, 1920, 1080))\ninjector.apply(Text('Ok é'))\ninjector.close()\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "DISPLAY": display_env},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    presses = [e for e in keylog.until(lambda e: e["char"] == "é" and e["type"] == "KeyRelease")
               if e["type"] == "KeyPress"]
    assert "".join(e["char"] for e in presses if e["char"]) == "Ok é"
    assert not any(e["synthetic"] for e in presses)  # even the borrowed keycode is typed through XTEST
