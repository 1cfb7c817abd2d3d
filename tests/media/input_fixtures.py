"""Fixtures and helpers for the remote-input tests (import them from the test modules).

KeyLog runs tests/media/xkeylog.py: a focused full-screen window that reports what reaches it.
connected_sessions() pairs two real Sessions over two in-process aiortc peer connections.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0  # seconds to wait for something that should happen in milliseconds


class KeyLog:
    """The events a focused X window received, as xkeylog.py reports them."""

    def __init__(self, display: str) -> None:
        env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.media.xkeylog"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self._lines.get(timeout=WAIT)
        assert ready.get("ready"), ready

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(json.loads(line))

    def take(self, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
        """The next `count` events; fails if they do not all come."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            try:
                out.append(self._lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"the X window got {len(out)} of {count} events: {out}")
        return out

    def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT) -> list[dict[str, Any]]:
        """Events up to and including the first one matching `predicate`."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no matching X event came; got {out}")
            out.append(event)
            if predicate(event):
                return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def keylog(display_env: str) -> Iterator[KeyLog]:
    log = KeyLog(display_env)
    try:
        yield log
    finally:
        log.close()


@pytest.fixture
def xserver(display_env: str) -> Iterator[XServer]:
    server = XServer(display_env)
    try:
        yield server
    finally:
        server.close()


class XServer:
    """What the X server itself says: pressed keys, pointer position and buttons."""

    def __init__(self, display: str) -> None:
        import Xlib.display

        self.display = Xlib.display.Display(display)

    def pressed_keycodes(self) -> list[int]:
        keymap = self.display.query_keymap()
        return [index * 8 + bit for index, byte in enumerate(keymap) for bit in range(8) if byte >> bit & 1]

    def keycode(self, keysym_name: str) -> int:
        import Xlib.XK

        return self.display.keysym_to_keycode(Xlib.XK.string_to_keysym(keysym_name))

    def pointer(self) -> tuple[int, int, int]:
        """(x, y, button mask) of the pointer."""
        reply = self.display.screen().root.query_pointer()
        return reply.root_x, reply.root_y, reply.mask & 0x1F00

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.005)

    def close(self) -> None:
        self.display.close()


def xdotool_location(display: str) -> tuple[int, int]:
    out = subprocess.run(["xdotool", "getmouselocation", "--shell"], env={**os.environ, "DISPLAY": display},
                         capture_output=True, text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in out.split())
    return int(values["X"]), int(values["Y"])


