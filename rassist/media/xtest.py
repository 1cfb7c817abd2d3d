"""The X server's XTEST extension through python-xlib: fake key, button and pointer events.

This is what pynput's X backend does underneath, without pynput: pynput also pulls in evdev
(for its uinput backend), which has no wheel and needs a C compiler to install. python-xlib is
pure Python. Events made with XTEST are indistinguishable from real typing for every X client,
and the server's key state shows them held.

A key name or character becomes a keysym; the keysym is looked up in the server's keyboard map
(levels 0 and 1, i.e. with or without Shift). A keysym that is not on the map (or only behind
AltGr) borrows a keycode the map leaves empty, the way pynput and xdotool do. Borrowed keycodes
are reused for later characters but not given back on close: resetting them races the clients
that still have to read the last key event with the borrowed meaning.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

_MEDIA_KEYSYMS = {  # XF86 keysyms (X11/XF86keysym.h); python-xlib does not load that group by default
    "media_play_pause": 0x1008FF14, "media_volume_mute": 0x1008FF12,
    "media_volume_down": 0x1008FF11, "media_volume_up": 0x1008FF13,
    "media_previous": 0x1008FF16, "media_next": 0x1008FF17,
}

_KEYSYM_NAMES = {  # rassist.protocol.input key names -> X keysym names
    "alt": "Alt_L", "alt_l": "Alt_L", "alt_r": "Alt_R", "alt_gr": "Mode_switch",
    "backspace": "BackSpace", "caps_lock": "Caps_Lock", "cmd": "Super_L", "cmd_l": "Super_L",
    "cmd_r": "Super_R", "ctrl": "Control_L", "ctrl_l": "Control_L", "ctrl_r": "Control_R",
    "delete": "Delete", "down": "Down", "end": "End", "enter": "Return", "esc": "Escape",
    "home": "Home", "left": "Left", "page_down": "Page_Down", "page_up": "Page_Up",
    "right": "Right", "shift": "Shift_L", "shift_l": "Shift_L", "shift_r": "Shift_R",
    "space": "space", "tab": "Tab", "up": "Up", "insert": "Insert", "menu": "Menu",
    "num_lock": "Num_Lock", "pause": "Pause", "print_screen": "Print", "scroll_lock": "Scroll_Lock",
    **{f"f{n}": f"F{n}" for n in range(1, 21)},
}

BUTTONS = {"left": 1, "middle": 2, "right": 3}
WHEEL_UP, WHEEL_DOWN, WHEEL_LEFT, WHEEL_RIGHT = 4, 5, 6, 7


class XUnavailable(RuntimeError):
    """No X server to talk to, or one without XTEST."""


def char_keysym(char: str) -> int:
    """The keysym that types `char`: Latin-1 keysyms are their code point, others are Unicode keysyms."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 | code


def key_keysym(name: str) -> int:
    """The keysym of a named key (one of rassist.protocol.keys.KEY_NAMES)."""
    if name in _MEDIA_KEYSYMS:
        return _MEDIA_KEYSYMS[name]
    from Xlib import XK

    keysym = XK.string_to_keysym(_KEYSYM_NAMES[name])
    if not keysym:
        raise KeyError(name)
    return keysym


Observer = Callable[[str, int, bool], None]  # ("key" | "button" | "motion", keycode | button | 0, down)


class XTest:
    """One X connection that fakes input. Not thread-safe: the Injector holds a lock around it.
    `observer` is told every event just before it is sent (local_input.py tells them apart from
    the person's own input)."""

    def __init__(self, observer: Observer | None = None) -> None:
        self.observer = observer
        name = os.environ.get("DISPLAY", "")
        if not name:
            raise XUnavailable("remote control needs an X display, and DISPLAY is not set")
        try:
            from Xlib import X, display, error
            from Xlib.ext import xtest
        except ImportError as exc:  # python-xlib is a dependency; say so if it went missing
            raise XUnavailable(f"cannot inject input into X display {name}: {exc}") from None
        self._X, self._xtest = X, xtest
        try:
            self._display = display.Display(name)
        except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise XUnavailable(f"cannot inject input into X display {name}: {reason}") from None
        if not self._display.has_extension("XTEST"):
            self._display.close()
            raise XUnavailable(f"cannot inject input into X display {name}: the server has no XTEST extension")
        self._first = self._display.display.info.min_keycode
        self._count = self._display.display.info.max_keycode - self._first + 1
        self._map: list[list[int]] = []
        self._where: dict[int, tuple[int, bool]] = {}  # keysym -> (keycode, needs shift)
        self._borrowed: list[int] = []  # keycodes this connection filled in, oldest first
        self._reload()

    def _reload(self) -> None:
        self._map = [list(row) + [0, 0] for row in self._display.get_keyboard_mapping(self._first, self._count)]
        self._where = {}
        # Level 0 everywhere first, so a keysym reachable without Shift never gets one.
        for level in (0, 1):
            for index, row in enumerate(self._map):
                keysym = row[level]
                if keysym and keysym not in self._where:
                    self._where[keysym] = (self._first + index, level == 1)

    def locate(self, keysym: int, avoid: set[int]) -> tuple[int, bool]:
        """(keycode, needs Shift) that types `keysym`, borrowing an empty keycode if the map has
        none; `avoid` are keycodes held down right now (never re-purposed under a held key)."""
        found = self._where.get(keysym)
        if found is not None:
            return found
        return self._borrow(keysym, avoid), False

    def _borrow(self, keysym: int, avoid: set[int]) -> int:
        free = [self._first + i for i, row in enumerate(self._map) if not any(row)]
        spare = [code for code in self._borrowed if code not in avoid]
        if free:
            keycode = free[0]
        elif spare:
            keycode = spare[0]
        else:
            raise RuntimeError(f"no free keycode to type keysym {keysym:#x}")
        if keycode in self._borrowed:
            self._borrowed.remove(keycode)
        self._borrowed.append(keycode)
        row = self._map[keycode - self._first]
        old = [sym for sym in row[:2] if sym]
        row[:] = [keysym, keysym] + [0] * (len(row) - 2)
        self._display.change_keyboard_mapping(keycode, [row])
        for sym in old:
            self._where.pop(sym, None)
        self._where[keysym] = (keycode, False)
        return keycode

    def keycode_of(self, keysym: int) -> int | None:
        """The keycode the map has for a keysym right now, if any."""
        found = self._where.get(keysym)
        return found[0] if found else None

    def key(self, keycode: int, down: bool) -> None:
        if self.observer is not None:
            self.observer("key", keycode, down)
        self._xtest.fake_input(self._display, self._X.KeyPress if down else self._X.KeyRelease, keycode)

    def button(self, number: int, down: bool) -> None:
        if self.observer is not None:
            self.observer("button", number, down)
        self._xtest.fake_input(self._display, self._X.ButtonPress if down else self._X.ButtonRelease, number)

    def move(self, x: int, y: int) -> None:
        if self.observer is not None:
            self.observer("motion", 0, True)
        self._xtest.fake_input(self._display, self._X.MotionNotify, x=x, y=y)

    def sync(self) -> None:
        """Wait until the server has handled everything sent so far (and raise its errors)."""
        self._display.sync()

    def close(self) -> None:
        self._display.close()


def quietly(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except Exception:  # noqa: BLE001 - releasing must go on whatever one call does
        pass
