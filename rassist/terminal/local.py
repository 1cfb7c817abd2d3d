"""The host's own terminal while it shares a shell: raw mode, keys to the shell, output back.

Like `script` or tmux: every key goes to the shell (Ctrl-C included) except the rassist key,
Ctrl-], which takes one more key (see KEYS). Output is written by a thread, so a slow terminal
never blocks the event loop; when it falls behind, reading from the shell pauses (the shell
waits, as it would on that terminal without rassist)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import select
import signal
import termios
import threading
import tty
from collections.abc import Callable
from typing import Any

PREFIX = 0x1D  # Ctrl-]
KEYS = {
    "q": "end sharing (the shell ends too)",
    "y": "approve a helper's request (everything asked for)",
    "v": "approve a helper's request for viewing only",
    "n": "decline a helper's request",
    "g": "grant control (the helper may type)",
    "r": "revoke control",
    "?": "this help",
}
HELP = "Ctrl-] then: " + ", ".join(f"{k} {v}" for k, v in KEYS.items()) + ", Ctrl-] sends Ctrl-]"
SHORT_HELP = "Ctrl-] then q quit, y/v/n answer a request, g/r grant/revoke typing, ? help"
HIGH = 1 << 20
LOW = 256 * 1024



def write_all(fd: int, data: bytes) -> bool:
    """All of `data` to a terminal that may be non-blocking: wait until it can take more rather
    than spin. False if the terminal has gone."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
        except OSError:
            return False
    return True

class LocalTerminal:
    """`on_key(letter)` receives the letter typed after Ctrl-]."""

    def __init__(self, on_key: Callable[[str], None], stdin: int = 0, stdout: int = 1) -> None:
        self.on_key = on_key
        self.stdin, self.stdout = stdin, stdout
        self.loop = asyncio.get_running_loop()
        self._saved: list[Any] | None = None
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._queued = 0
        self._lock = threading.Lock()
        self._paused = False
        self._prefix = False
        self._term: Any = None
        self._thread: threading.Thread | None = None

    def size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.stdout)
        except OSError:
            return 80, 24
        return max(size.columns, 2), max(size.lines, 2)

    def start(self, term: Any) -> None:
        """`term` is the HostTerminal: type_keys(), resize() and its pty's pause()/resume()."""
        self._term = term
        self._saved = termios.tcgetattr(self.stdin)
        tty.setraw(self.stdin)
        self._thread = threading.Thread(target=self._writer, name="local-terminal", daemon=True)
        self._thread.start()
        self.loop.add_reader(self.stdin, self._keys)
        self.loop.add_signal_handler(signal.SIGWINCH, lambda: term.resize(*self.size()))

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.stdin)
        with contextlib.suppress(Exception):
            self.loop.remove_signal_handler(signal.SIGWINCH)
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2)
            self._thread = None
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.stdin, termios.TCSAFLUSH, self._saved)
            self._saved = None
        with contextlib.suppress(OSError):
            os.write(self.stdout, b"\x1b[0m\r\n")

    def write(self, data: bytes) -> None:
        with self._lock:
            self._queued += len(data)
            behind = self._queued > HIGH
        self._queue.put(data)
        if behind and not self._paused and self._term is not None and self._term.pty is not None:
            self._paused = True
            self._term.pty.pause()

    def notice(self, text: str) -> None:
        """A line from rassist itself, set apart in reverse video. `text` must be safe already."""
        self.write(b"\r\n\x1b[0;7m rassist \x1b[0m " + text.replace("\n", "\r\n ").encode() + b"\r\n")

    def _writer(self) -> None:
        while (data := self._queue.get()) is not None:
            write_all(self.stdout, data)
            with self._lock:
                self._queued -= len(data)
                drained = self._queued < LOW
            if drained and self._paused:
                self.loop.call_soon_threadsafe(self._resume)

    def _resume(self) -> None:
        if self._paused and self._term is not None and self._term.pty is not None:
            self._paused = False
            self._term.pty.resume()

    def _keys(self) -> None:
        try:
            data = os.read(self.stdin, 4096)
        except OSError:
            data = b""
        if not data:  # the terminal went away: nothing more will be typed here
            self.loop.remove_reader(self.stdin)
            return
        out = bytearray()
        for byte in data:
            if self._prefix:
                self._prefix = False
                if byte == PREFIX:
                    out.append(byte)
                else:
                    self.on_key(chr(byte).lower() if byte < 128 else "")
            elif byte == PREFIX:
                self._prefix = True
            else:
                out.append(byte)
        if out:
            self._term.type_keys(bytes(out))
