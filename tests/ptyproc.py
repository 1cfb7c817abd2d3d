"""A `rassist` process on a real pseudo-terminal: stdin, stdout and stderr are the pty, so it
behaves as at a person's terminal. Every byte it writes to the terminal is kept, to check what a
terminal would have been told to do."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time


class PtyProc:
    running: list[PtyProc] = []

    def __init__(self, args: list[str], env: dict[str, str] | None = None,
                 size: tuple[int, int] = (30, 100)) -> None:
        self.args = args
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        self.master = master
        self.output = bytearray()
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rassist", *args], stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True, close_fds=True,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[1]),
                 "LINES": str(size[0]), **(env or {})})
        os.close(slave)
        PtyProc.running.append(self)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.output += data

    def text(self) -> str:
        with self._lock:
            return self.output.decode("utf-8", "replace")

    def write(self, data: str | bytes) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if needle in text:
                return text
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the last bytes may still be in the pty
                if needle in self.text():
                    return self.text()
                break
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not on the terminal of rassist {self.args} within {timeout} s "
                             f"(rc={self.proc.poll()}); it shows: {self.text()[-3000:]!r}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"rassist {self.args} did not exit within {timeout} s; "
                                 f"terminal: {self.text()[-3000:]!r}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass
