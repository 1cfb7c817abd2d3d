"""Host side: inject validated input events into the X server through XTEST (media/xtest.py).

Coordinates are fractions of one monitor (mss geometry, root-window pixels on X), so the joiner's
view size never matters. Every key goes through XTEST (so every X client sees it as real typing,
and the server's key state shows it held); characters missing from the keyboard map borrow an
empty keycode. Everything this injector presses is remembered so that release_all() can let go
of it. python-xlib is imported only when an Injector is made.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rassist.media.xtest import (BUTTONS, WHEEL_DOWN, WHEEL_LEFT, WHEEL_RIGHT, WHEEL_UP, Observer, XTest,
                                 XUnavailable, char_keysym, key_keysym, quietly)
from rassist.protocol.input import Button, InputEvent, Key, Move, Text, Wheel
from rassist.protocol.keys import KEY_NAMES


class InjectorUnavailable(RuntimeError):
    """No X display to inject into (no DISPLAY, or the server refused the connection)."""


@dataclass(frozen=True, slots=True)
class Monitor:
    """A monitor's rectangle in root-window pixels, as mss reports it."""

    left: int
    top: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"empty monitor {self.width}x{self.height}")

    @classmethod
    def from_mss(cls, monitor: Mapping[str, int]) -> Monitor:
        """From one of mss's `monitors` entries."""
        return cls(int(monitor["left"]), int(monitor["top"]),
                   int(monitor["width"]), int(monitor["height"]))

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """The pixel under the fractions (x, y) in 0..1; 1.0 is the last pixel, not past it.
        The tiny epsilon keeps px/width from flooring to px-1 through float error."""
        px = min(self.width - 1, max(0, math.floor(x * self.width + 1e-6)))
        py = min(self.height - 1, max(0, math.floor(y * self.height + 1e-6)))
        return self.left + px, self.top + py


class Injector:
    """Synchronous injection into one monitor (each call is an X round trip: call it from a
    worker thread, see AsyncInjector). Thread-safe."""

    def __init__(self, monitor: Monitor, observer: Observer | None = None) -> None:
        self.monitor = monitor
        try:
            self._x = XTest(observer)
        except XUnavailable as exc:
            raise InjectorUnavailable(str(exc)) from None
        self._lock = threading.Lock()
        # name -> the keycodes pressed for it, in press order (a capital is Shift + key)
        self._keys: dict[str, list[int]] = {}
        self._buttons: list[str] = []

    # ------------------------------------------------------------ events

    def apply(self, event: InputEvent) -> None:
        self.apply_all([event])

    def apply_all(self, events: Iterable[InputEvent]) -> None:
        with self._lock:
            try:
                for event in events:
                    self._apply(event)
            finally:
                self._x.sync()

    def _apply(self, event: InputEvent) -> None:
        match event:
            case Move(x, y):
                self._x.move(*self.monitor.pixel(x, y))
            case Button(name, True):
                self._x.button(BUTTONS[name], True)
                if name not in self._buttons:
                    self._buttons.append(name)
            case Button(name, False):
                self._x.button(BUTTONS[name], False)
                if name in self._buttons:
                    self._buttons.remove(name)
            case Wheel(dx, dy):
                # On the wire dy > 0 scrolls down and dx > 0 right, like browsers.
                for _ in range(abs(dy)):
                    self._click(WHEEL_DOWN if dy > 0 else WHEEL_UP)
                for _ in range(abs(dx)):
                    self._click(WHEEL_RIGHT if dx > 0 else WHEEL_LEFT)
            case Key(name, True):
                self._press_key(name)
            case Key(name, False):
                self._release_key(name)
            case Text(text):
                for char in text:
                    self._tap_char(char)

    def _click(self, number: int) -> None:
        self._x.button(number, True)
        self._x.button(number, False)

    @property
    def held(self) -> tuple[list[str], list[str]]:
        """(keys, buttons) this injector holds down right now."""
        with self._lock:
            return list(self._keys), list(self._buttons)

    def release_all(self) -> list[str]:
        """Release every key and button this injector pressed, last first; returns their names.
        Keeps going past errors so one bad key cannot leave the others stuck."""
        released: list[str] = []
        with self._lock:
            for name in reversed(self._buttons):
                quietly(self._x.button, BUTTONS[name], False)
                released.append(name)
            self._buttons.clear()
            for name in reversed(list(self._keys)):
                for keycode in reversed(self._keys.pop(name)):
                    quietly(self._x.key, keycode, False)
                released.append(name)
            quietly(self._x.sync)
        return released

    def close(self) -> None:
        """Release everything, then close the X connection."""
        try:
            self.release_all()
        finally:
            quietly(self._x.close)

    # ------------------------------------------------------------ keys

    def _press_key(self, name: str) -> None:
        keycodes = self._keys.get(name)
        if keycodes is not None:  # auto-repeat: press the main key again, modifiers are still down
            self._x.key(keycodes[-1], True)
            return
        pressed: list[int] = []
        self._keys[name] = pressed  # recorded before pressing: a failure halfway still releases
        for keycode in self._resolve(name):
            self._x.key(keycode, True)
            pressed.append(keycode)

    def _release_key(self, name: str) -> None:
        for keycode in reversed(self._keys.pop(name, [])):
            self._x.key(keycode, False)

    def _tap_char(self, char: str) -> None:
        keycodes = self._resolve({"\n": "enter", "\t": "tab"}.get(char, char))
        for keycode in keycodes:
            self._x.key(keycode, True)
        for keycode in reversed(keycodes):
            self._x.key(keycode, False)

    def _resolve(self, name: str) -> list[int]:
        """The keycodes to press, in order, for a key name or a character."""
        held = {code for codes in self._keys.values() for code in codes}
        keysym = key_keysym(name) if name in KEY_NAMES else char_keysym(name)
        keycode, shifted = self._x.locate(keysym, held)
        # Add Shift for the upper level unless the joiner already holds one.
        if shifted and not self._shift_held():
            return [self._x.locate(key_keysym("shift"), held)[0], keycode]
        return [keycode]

    def _shift_held(self) -> bool:
        return any(name in self._keys for name in ("shift", "shift_l", "shift_r"))


class AsyncInjector:
    """An Injector driven from asyncio: every X call runs on one worker thread, so the event
    loop never waits on the X server and events keep their order."""

    def __init__(self, monitor: Monitor, observer: Observer | None = None) -> None:
        self.monitor = monitor
        self.observer = observer  # told every event the injector sends (local_input.py)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rassist-inject")
        self._injector: Injector | None = None

    async def open(self) -> None:
        """Connect to the X server (raises InjectorUnavailable)."""
        if self._injector is None:
            self._injector = await self._run(Injector, self.monitor, self.observer)

    async def apply_all(self, events: list[InputEvent]) -> None:
        await self._run(self._require().apply_all, events)

    async def release_all(self) -> list[str]:
        if self._injector is None:
            return []
        return await self._run(self._injector.release_all)

    async def held(self) -> tuple[list[str], list[str]]:
        if self._injector is None:
            return [], []
        return await self._run(lambda: self._require().held)

    async def close(self) -> None:
        injector, self._injector = self._injector, None
        if injector is not None:
            await self._run(injector.close)
        self._executor.shutdown(wait=False)

    def _require(self) -> Injector:
        if self._injector is None:
            raise InjectorUnavailable("the injector is not open")
        return self._injector

    async def _run(self, call: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)
