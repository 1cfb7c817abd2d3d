"""The host's shell in a pseudo-terminal, read and written without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Callable

from ptyprocess import PtyProcess

from rassist.errors import UsageError

READ_SIZE = 64 * 1024
READ_BUDGET = 256 * 1024   # per wake-up: other work (keys, the network) gets its turn
MAX_INPUT_BACKLOG = 1 << 20  # keys the shell has not read yet; a paste larger than this is cut


def default_command() -> list[str]:
    return [os.environ.get("SHELL") or "/bin/sh"]


class ShellPty:
    """`on_output(bytes)` for everything the shell prints; `exited` resolves to its status
    (the exit code, or 128 + signal number as a shell would say)."""

    def __init__(self, argv: list[str], cols: int, rows: int, on_output: Callable[[bytes], None],
                 term: str = "xterm-256color") -> None:
        env = {**os.environ, "TERM": term, "RASSIST_SHARED": "1"}
        try:
            self.proc = PtyProcess.spawn(argv, dimensions=(rows, cols), env=env)
        except (OSError, FileNotFoundError) as exc:
            raise UsageError(f"cannot start {argv[0]!r}: {exc}") from None
        self.argv = argv
        self.cols, self.rows = cols, rows
        self.fd: int = self.proc.fd
        os.set_blocking(self.fd, False)
        self.on_output = on_output
        self.loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = self.loop.create_future()
        self._input = bytearray()
        self._writing = False
        self._reading = False
        self._eof = False
        self.resume()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pause(self) -> None:
        """Stop reading (the host's own terminal is behind): the shell blocks, as under `script`."""
        if self._reading:
            self.loop.remove_reader(self.fd)
            self._reading = False

    def resume(self) -> None:
        if not self._reading and not self._eof:
            self.loop.add_reader(self.fd, self._readable)
            self._reading = True

    def _readable(self) -> None:
        chunks: list[bytes] = []
        total = 0
        while total < READ_BUDGET:
            try:
                data = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:  # EIO: every process on the pty's other side has gone
                if exc.errno != errno.EIO:
                    raise
                data = b""
            if not data:
                self._end()
                break
            chunks.append(data)
            total += len(data)
        if chunks:
            self.on_output(b"".join(chunks))

    def _end(self) -> None:
        self.pause()
        self._eof = True
        if self._writing:
            self.loop.remove_writer(self.fd)
            self._writing = False
        asyncio.ensure_future(self._reap())

    async def _reap(self) -> None:
        status = await self.loop.run_in_executor(None, self._wait)
        if not self.exited.done():
            self.exited.set_result(status)

    def _wait(self) -> int:
        with contextlib.suppress(Exception):
            self.proc.wait()
        if self.proc.signalstatus is not None:
            return 128 + self.proc.signalstatus
        return self.proc.exitstatus or 0

    def write(self, data: bytes) -> bool:
        """Queue keys for the shell; False if they were dropped (the shell is not reading)."""
        if self._eof:
            return False
        if len(self._input) + len(data) > MAX_INPUT_BACKLOG:
            return False
        self._input += data
        self._flush()
        return True

    def _flush(self) -> None:
        try:
            while self._input:
                sent = os.write(self.fd, self._input)
                del self._input[:sent]
        except BlockingIOError:
            pass
        except OSError:
            self._input.clear()
        want = bool(self._input)
        if want and not self._writing:
            self.loop.add_writer(self.fd, self._flush)
        elif not want and self._writing:
            self.loop.remove_writer(self.fd)
        self._writing = want

    def resize(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        with contextlib.suppress(OSError):
            self.proc.setwinsize(rows, cols)

    async def close(self) -> None:
        """End the shell as a closing terminal does (SIGHUP, then harder), and reap it."""
        self.pause()
        if self._writing:
            self.loop.remove_writer(self.fd)
            self._writing = False
        if not self.exited.done():
            with contextlib.suppress(Exception):
                await self.loop.run_in_executor(None, lambda: self.proc.terminate(force=True))
        with contextlib.suppress(Exception):
            self.proc.close(force=True)
