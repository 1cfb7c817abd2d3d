"""Standard input as an async stream of lines, read by a thread so that any stdin works
(terminal, pipe, file, /dev/null) without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from typing import TextIO


class Lines:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdin
        self._queue: asyncio.Queue[tuple[float, str | None]] = asyncio.Queue()
        self._cutoff = 0.0  # lines that arrived before this (monotonic) are thrown away
        self._loop = asyncio.get_running_loop()
        self.closed = False
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
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (time.monotonic(), line))
        except RuntimeError:  # the loop has already finished: nobody is listening
            pass

    async def next(self) -> str | None:
        """The next line, or None at end of input (and forever after)."""
        if self.closed:
            await asyncio.Future()  # nothing more will come; callers race this with other work
        at, line = await self._queue.get()
        while line is not None and at < self._cutoff:  # typed before the question was shown
            at, line = await self._queue.get()
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
