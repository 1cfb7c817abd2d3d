"""Real `rassist` processes driven through --json, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEFAULT_WAIT = 30.0


class Proc:
    """One `rassist ...` process: JSON events from stdout, JSON commands to stdin."""

    running: list[Proc] = []  # killed after each test by the autouse fixture in tests/conftest.py

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
                 raw: bool = False) -> None:
        """`args` are rassist's arguments, or with `raw` the whole command line (e.g. under ip netns exec)."""
        self.args = args
        self.events: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr_lines: list[str] = []
        self.proc = subprocess.Popen(
            args if raw else [sys.executable, "-m", "rassist", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1, cwd=cwd,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
        Proc.running.append(self)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "__not-json__", "line": line}
            self._queue.put(event)
        self._queue.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def send(self, command: dict[str, Any] | str) -> None:
        assert self.proc.stdin is not None
        line = command if isinstance(command, str) else json.dumps(command)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def wait_event(self, name: str, timeout: float = DEFAULT_WAIT, **match: Any) -> dict[str, Any]:
        """The next event called `name` (with the given field values); earlier ones are kept in .events."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                event = self._queue.get(timeout=max(0.0, left))
            except queue.Empty:
                raise AssertionError(f"no {name!r} event within {timeout} s from rassist {self.args}; "
                                     f"saw {self.events}; stderr: {''.join(self.stderr_lines)[-2000:]}") from None
            if event is None:
                self._queue.put(None)
                raise AssertionError(f"rassist {self.args} ended (rc={self.proc.wait()}) before a {name!r} "
                                     f"event; saw {self.events}; stderr: {''.join(self.stderr_lines)[-2000:]}")
            self.events.append(event)
            if event.get("event") == name and all(event.get(k) == v for k, v in match.items()):
                return event

    def seen_or_wait(self, name: str, timeout: float = DEFAULT_WAIT, **match: Any) -> dict[str, Any]:
        """The first event called `name` (with these field values), whether an earlier wait
        already passed it or it is still to come (for events whose order is not fixed)."""
        for event in self.events:
            if event.get("event") == name and all(event.get(k) == v for k, v in match.items()):
                return event
        return self.wait_event(name, timeout, **match)

    def wait_exit(self, timeout: float = DEFAULT_WAIT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"rassist {self.args} did not exit within {timeout} s; saw {self.events}") from None

    def drain(self) -> list[dict[str, Any]]:
        """All events so far and until stdout closes (call after exit)."""
        while (event := self._queue.get(timeout=5)) is not None:
            self.events.append(event)
        self._queue.put(None)
        return self.events

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def rendezvous_server(*extra: str, host: str = "127.0.0.1", prefix: tuple[str, ...] = (),
                      command: tuple[str, ...] | None = None) -> Iterator[str]:
    """`rassist server --port 0` on `host` (run under `prefix`, e.g. ip netns exec); yields its URL.
    `command` replaces `python -m rassist` (e.g. () when the prefix ends in its own interpreter)."""
    command = (sys.executable, "-m", "rassist") if command is None else command
    proc = subprocess.Popen([*prefix, *command, "server", "--host", host, "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("ws://"):
            raise RuntimeError(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
