"""`rassist join --no-tui` on a terminal: the shared shell drawn straight into this terminal.

Until the host's terminal arrives, stdin works as in plain mode (lines of chat and /commands,
handed to the CLI's line reader through a pipe). From then on this terminal is raw and the
view owns it: keys go to the host's shell when control is granted, Ctrl-] takes a command key
(q leave, c ask for control), and the last line is a status line. The picture is redrawn from
our emulator (never the host's raw bytes) at most FPS times a second, clipped to our size; a
smaller terminal is told so on the status line."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import termios
import tty
from collections.abc import Callable
from typing import Any, TextIO

from rassist.errors import CommandError
from rassist.terminal.emulator import safe_text
from rassist.terminal.join import JoinTerminal
from rassist.terminal.local import write_all

PREFIX = 0x1D  # Ctrl-]
FPS = 30
DRAW_BUDGET = 16 * 1024  # pyte work per frame (~20 ms) while output floods in: keys stay responsive


class StatusSink(io.TextIOBase):
    """A file for rich's Console: while the view is up, each printed line becomes its status
    message (it would scribble over the picture); before and after, the lines go to stderr."""

    def __init__(self, view: PlainView) -> None:
        self.view = view

    def write(self, text: str) -> int:
        if not self.view.active:
            sys.stderr.write(text)
            sys.stderr.flush()
            return len(text)
        for line in text.splitlines():
            if line.strip():
                self.view.said = line.strip()
                self.view.status(line.strip())
        return len(text)


class PlainView:
    def __init__(self, terminal: JoinTerminal, command: Callable[[dict[str, Any]], Any],
                 stdin: int = 0, stdout: int = 1) -> None:
        self.terminal = terminal
        self.command = command     # a session command ({"request": "control"}, {"quit": true})
        self.stdin, self.stdout = stdin, stdout
        self.loop = asyncio.get_running_loop()
        self.active = False
        self.message = "Ctrl-] q leaves, Ctrl-] c asks for control"
        self.said = ""  # the last line rassist printed while the view was up: shown again after
        self._saved: list[Any] | None = None
        self._prefix = False
        self._dirty = False
        self._timer: asyncio.TimerHandle | None = None
        read_end, self._pipe = os.pipe()
        self.lines_stream: TextIO = os.fdopen(read_end, "r", encoding="utf-8", errors="replace")
        self.loop.add_reader(self.stdin, self._readable)
        terminal.on_update = self.update

    # ------------------------------------------------------------ input

    def _readable(self) -> None:
        try:
            data = os.read(self.stdin, 4096)
        except OSError:
            data = b""
        if not data:
            self.loop.remove_reader(self.stdin)
            self._close_pipe()
            return
        if not self.active:
            with contextlib.suppress(OSError):
                os.write(self._pipe, data)  # cooked mode: whole lines, for the line reader
            return
        keys = bytearray()
        for byte in data:
            if self._prefix:
                self._prefix = False
                if byte == PREFIX:
                    keys.append(byte)
                else:
                    self._command_key(chr(byte).lower())
            elif byte == PREFIX:
                self._prefix = True
            else:
                keys.append(byte)
        if keys:
            try:
                self.terminal.type_keys(bytes(keys))
            except CommandError as exc:
                self.status(f"{exc.message} (Ctrl-] c asks for control)")

    def _command_key(self, key: str) -> None:
        if key == "q":
            self.status("leaving...")
            asyncio.ensure_future(self.command({"quit": True}))
        elif key == "c":
            asyncio.ensure_future(self.command({"request": "control"}))
        else:
            self.status("Ctrl-] then: q leave, c ask for control, Ctrl-] send Ctrl-]")

    def _close_pipe(self) -> None:
        if self._pipe >= 0:
            with contextlib.suppress(OSError):
                os.close(self._pipe)
            self._pipe = -1

    # ------------------------------------------------------------ output

    def status(self, text: str) -> None:
        self.message = safe_text(text)[:300]
        self.update()

    def update(self) -> None:
        if not self.active and self.terminal.shared:
            self._activate()
        self._dirty = True
        if self._timer is None and self.active:
            self._timer = self.loop.call_later(1 / FPS, self._draw)

    def _activate(self) -> None:
        self.active = True
        with contextlib.suppress(termios.error):
            self._saved = termios.tcgetattr(self.stdin)
            tty.setraw(self.stdin)
        self._write(b"\x1b[?1049h\x1b[H\x1b[2J")
        with contextlib.suppress(Exception):
            self.loop.add_signal_handler(signal.SIGWINCH, self._resized)

    def _resized(self) -> None:
        self._write(b"\x1b[0m\x1b[2J")  # what was drawn for the old size goes
        self.update()

    def _draw(self) -> None:
        self._timer = None
        emulator = self.terminal.emulator
        if emulator is None or not self.active:
            return
        if not emulator.catch_up(DRAW_BUDGET):
            self.update()  # more to draw: the next frame goes on
        try:
            size = os.get_terminal_size(self.stdout)
            cols, rows = size.columns, size.lines
        except OSError:
            cols, rows = 80, 24
        show_rows = min(emulator.rows, rows - 1)
        out = [b"\x1b[?25l"]
        for y in range(show_rows):
            out.append(b"\x1b[%d;1H" % (y + 1) + emulator.row_ansi(y, cols) + b"\x1b[K")
        for y in range(show_rows, rows - 1):
            out.append(b"\x1b[%d;1H\x1b[K" % (y + 1))
        clipped = cols < emulator.cols or rows - 1 < emulator.rows
        who = "you may type" if "control" in self._granted() else "read-only"
        line = f" host {emulator.cols}x{emulator.rows}"
        line += f" (clipped to {cols}x{rows - 1}: enlarge your terminal)" if clipped else ""
        line += f" | {who} | {self.message}"
        out.append(b"\x1b[%d;1H\x1b[0;7m" % rows + line[:cols].ljust(cols).encode() + b"\x1b[0m")
        cursor = emulator.screen.cursor
        if not cursor.hidden and cursor.y < show_rows and cursor.x < cols:
            out.append(b"\x1b[%d;%dH\x1b[?25h" % (cursor.y + 1, cursor.x + 1))
        self._write(b"".join(out))

    def _granted(self) -> set[str]:
        session = self.terminal.session
        return session.granted if session is not None else set()

    def _write(self, data: bytes) -> None:
        write_all(self.stdout, data)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.stdin)
        if self._timer is not None:
            self._timer.cancel()
        self._close_pipe()
        if self.active:
            with contextlib.suppress(Exception):
                self.loop.remove_signal_handler(signal.SIGWINCH)
            self._write(b"\x1b[0m\x1b[?25h\x1b[?1049l")
            if self._saved is not None:
                with contextlib.suppress(termios.error):
                    termios.tcsetattr(self.stdin, termios.TCSAFLUSH, self._saved)
            self.active = False
            if self.said:
                sys.stderr.write(safe_text(self.said) + "\n")
                sys.stderr.flush()
