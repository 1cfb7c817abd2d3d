"""Standard input as an async stream of lines, read by a thread so that any stdin works
(terminal, pipe, file, /dev/null) without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


class Lines:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdin
        self._queue: asyncio.Queue[tuple[float, str | None]] = asyncio.Queue()
        self._cutoff = 0.0  # lines that arrived before this (monotonic) are thrown away
        self._loop = asyncio.get_running_loop()
        self.closed = False
        # While set, a line that arrives when nobody is waiting in next() is offered here first;
        # it returns True if it answered the line (before a session is connected, commands get
        # an immediate answer, not silence), False to queue it as usual.
        self.unclaimed: Callable[[str], bool] | None = None
        self._waiting = 0
        self.interactive = bool(getattr(self._stream, "isatty", lambda: False)())
        threading.Thread(target=self._pump, name="stdin", daemon=True).start()

    def _pump(self) -> None:
        try:
            for line in self._stream:
                self._put(line.rstrip("\r\n"))
        except (OSError, ValueError):
            pass
        self._put(None)

    def _put(self, line: str | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver, time.monotonic(), line)
        except RuntimeError:  # the loop has already finished: nobody is listening
            pass

    def _deliver(self, at: float, line: str | None) -> None:
        if (line is not None and self.unclaimed is not None and self._waiting == 0
                and self._queue.empty() and self.unclaimed(line)):
            return
        self._queue.put_nowait((at, line))

    async def next(self) -> str | None:
        """The next line, or None at end of input (and forever after)."""
        if self.closed:
            await asyncio.Future()  # nothing more will come; callers race this with other work
        self._waiting += 1
        try:
            at, line = await self._queue.get()
            while line is not None and at < self._cutoff:  # typed before the question was shown
                at, line = await self._queue.get()
        finally:
            self._waiting -= 1
        if line is None:
            self.closed = True
        return line

    def discard_pending(self) -> None:
        """Forget every line typed so far, and on a terminal what is typed but not yet entered:
        an answer to a question counts only if it was typed after the question appeared."""
        self._cutoff = time.monotonic()
        if self.interactive:
            import termios

            with contextlib.suppress(OSError, ValueError, termios.error):
                termios.tcflush(self._stream.fileno(), termios.TCIFLUSH)
