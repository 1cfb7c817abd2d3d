"""Host side: inject validated input events into the X server with pynput.

Coordinates are fractions of one monitor (mss geometry, root-window pixels on X), so the joiner's
view size never matters. Keys go through XTEST wherever the keyboard map has them (so every X
client sees them as real typing, and the server's key state shows them held); only characters
missing from the map fall back to pynput's own path (a borrowed keycode). Everything this
injector presses is remembered so that release_all() can let go of it.

pynput connects to the X server named by DISPLAY when it is *imported*, and fails the import if
there is none. It is therefore imported lazily, inside Injector(), never at module import time.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from rassist.protocol.input import KEY_NAMES, Button, InputEvent, Key, Move, Text, Wheel

_SHIFT_MASK = 1  # X11 ShiftMask


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


def load_pynput() -> tuple[ModuleType, ModuleType]:
    """pynput's mouse and keyboard modules, bound to the X display in DISPLAY."""
    display = os.environ.get("DISPLAY", "")
    if not display:
        raise InjectorUnavailable("remote control needs an X display, and DISPLAY is not set")
    try:
        from pynput import keyboard, mouse
    except ImportError as exc:
        # pynput's message is long and generic; the first line says what went wrong.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InjectorUnavailable(f"cannot inject input into X display {display}: {reason}") from None
    return mouse, keyboard


class Injector:
    """Synchronous injection into one monitor (each call is an X round trip: call it from a
    worker thread, see AsyncInjector). Thread-safe."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self._mouse_mod, self._keyboard_mod = load_pynput()
        self._mouse = self._mouse_mod.Controller()
        self._keyboard = self._keyboard_mod.Controller()
        self._lock = threading.Lock()
        # name -> the pynput keys pressed for it, in press order (a capital is shift + key)
        self._keys: dict[str, list[Any]] = {}
        self._buttons: list[str] = []

    # ------------------------------------------------------------ events

    def apply(self, event: InputEvent) -> None:
        with self._lock:
            self._apply(event)

    def apply_all(self, events: Iterable[InputEvent]) -> None:
        with self._lock:
            for event in events:
                self._apply(event)

    def _apply(self, event: InputEvent) -> None:
        match event:
            case Move(x, y):
                self._mouse.position = self.monitor.pixel(x, y)
            case Button(name, True):
                self._mouse.press(self._mouse_mod.Button[name])
                if name not in self._buttons:
                    self._buttons.append(name)
            case Button(name, False):
                self._mouse.release(self._mouse_mod.Button[name])
                if name in self._buttons:
                    self._buttons.remove(name)
            case Wheel(dx, dy):
                # pynput scrolls up for dy > 0; on the wire dy > 0 scrolls down, like browsers.
                self._mouse.scroll(dx, -dy)
            case Key(name, True):
                self._press_key(name)
            case Key(name, False):
                self._release_key(name)
            case Text(text):
                for char in text:
                    self._tap_char(char)

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
                self._quietly(self._mouse.release, self._mouse_mod.Button[name])
                released.append(name)
            self._buttons.clear()
            for name in reversed(list(self._keys)):
                for key in reversed(self._keys.pop(name)):
                    self._quietly(self._keyboard.release, key)
                released.append(name)
        return released

    def close(self) -> None:
        """Release everything, then close pynput's X connections (its own __del__ would
        otherwise try to, noisily, after the server may be gone)."""
        try:
            self.release_all()
        finally:
            for controller in (self._mouse, self._keyboard):
                display = getattr(controller, "_display", None)
                if display is not None:
                    self._quietly(display.close)
                    del controller._display

    # ------------------------------------------------------------ keys

    def _press_key(self, name: str) -> None:
        keys = self._keys.get(name)
        if keys is not None:  # auto-repeat: press the main key again, modifiers are still down
            self._keyboard.press(keys[-1])
            return
        keys = self._resolve(name)
        pressed: list[Any] = []
        self._keys[name] = pressed  # recorded before pressing: a failure halfway still releases
        for key in keys:
            self._keyboard.press(key)
            pressed.append(key)

    def _release_key(self, name: str) -> None:
        for key in reversed(self._keys.pop(name, [])):
            self._keyboard.release(key)

    def _tap_char(self, char: str) -> None:
        if char == "\n":
            keys = [self._keyboard_mod.Key.enter]
        elif char == "\t":
            keys = [self._keyboard_mod.Key.tab]
        else:
            keys = self._resolve(char)
        for key in keys:
            self._keyboard.press(key)
        for key in reversed(keys):
            self._keyboard.release(key)

    def _resolve(self, name: str) -> list[Any]:
        """The pynput keys to press, in order, for a key name or a character."""
        kb = self._keyboard_mod
        if name in KEY_NAMES:
            return [kb.Key[name]]
        keysym = ord(name) if ord(name) < 0x100 else 0x01000000 | ord(name)
        found = self._keyboard.keyboard_mapping.get(keysym)
        if found is None or found[1] & ~_SHIFT_MASK:
            # Not on the keyboard map (or behind AltGr): pynput borrows a keycode for it.
            return [kb.KeyCode.from_char(name)]
        # A keysym-only KeyCode makes pynput use XTEST; add Shift for the upper level unless the
        # joiner already holds one.
        key = kb.KeyCode.from_vk(keysym)
        if found[1] & _SHIFT_MASK and not self._shift_held():
            return [kb.Key.shift, key]
        return [key]

    def _shift_held(self) -> bool:
        return any(name in self._keys for name in ("shift", "shift_l", "shift_r"))

    @staticmethod
    def _quietly(call: Any, *args: Any) -> None:
        try:
            call(*args)
        except Exception:  # noqa: BLE001 - releasing must go on whatever one call does
            pass


class AsyncInjector:
    """An Injector driven from asyncio: every X call runs on one worker thread, so the event
    loop never waits on the X server and events keep their order."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rassist-inject")
        self._injector: Injector | None = None

    async def open(self) -> None:
        """Connect to the X server (raises InjectorUnavailable)."""
        if self._injector is None:
            self._injector = await self._run(Injector, self.monitor)

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
