"""The shared terminal as an asciicast v2 file (what `asciinema play` replays).

A header line (a JSON object), then one JSON array per event: [seconds, "o", text] for output,
[seconds, "r", "COLSxROWS"] for a resize. Keys typed are not recorded: they hold passwords,
and their echo is in the output anyway. Output is decoded as UTF-8 incrementally, so a
character split across two reads is written whole. Writes go through a buffer the OS flushes;
a failing disk stops the recording with a reason, never the session."""

from __future__ import annotations

import codecs
import json
import os
import time
from pathlib import Path
from typing import IO, Any

FLUSH_EVERY = 0.5  # seconds: a crash loses at most this much of the recording


def default_cast_path(now: float | None = None) -> Path:
    """Where `host --shell` records without --cast: the user's data directory."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return base / "rassist" / "casts" / f"shell-{stamp}-{os.getpid()}.cast"


class CastWriter:
    def __init__(self, path: Path, cols: int, rows: int, title: str | None = None,
                 term: str = "xterm-256color", clock: Any = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self._start = clock()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._last_flush = self._start
        self.error: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        # Only the owner may read a recording of a shell.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 16)
        header: dict[str, Any] = {"version": 2, "width": cols, "height": rows, "timestamp": int(time.time()),
                                  "env": {"TERM": term,
                                          "SHELL": os.environ.get("SHELL", "/bin/sh")}}
        if title:
            header["title"] = title
        self._write(json.dumps(header) + "\n")

    def output(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            self._event("o", text)

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{cols}x{rows}")

    def close(self) -> None:
        rest = self._decoder.decode(b"", final=True)
        if rest:
            self._event("o", rest)
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                self.error = f"cannot write {self.path}: {exc}"
            self._file = None

    def _event(self, kind: str, text: str) -> None:
        now = self.clock()
        self._write(json.dumps([round(now - self._start, 6), kind, text]) + "\n")
        if now - self._last_flush > FLUSH_EVERY and self._file is not None:
            self._last_flush = now
            try:
                self._file.flush()
            except OSError as exc:
                self._fail(exc)

    def _write(self, line: str) -> None:
        if self._file is None:
            return
        try:
            self._file.write(line)
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.error = f"recording stopped: cannot write {self.path}: {exc}"
        try:
            assert self._file is not None
            self._file.close()
        except OSError:
            pass
        self._file = None
