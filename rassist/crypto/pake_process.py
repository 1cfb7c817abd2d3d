"""SPAKE2 in a process of its own, for a joiner that knows its code from the start.

A join is bound by one CPU: the interpreter's lock lets one thread run Python at a time, and
importing WebRTC alone fills the way to `connected`. SPAKE2 (importing `spake2` builds its
groups, ~15 ms; our two messages' arithmetic, ~13 ms; pure Python) has no need of that
process: a second one computes it on another core meanwhile, started with the command, and this
process only passes the peer's message in and the key out. Same library, same code (crypto/pake.py
runs in the worker); the worker imports exactly what this process would (its sys.path), never
what lies in the current directory.

On one CPU there is nothing to gain: start() returns None and SPAKE2 runs here, as it does for
everything that does not start early (the host answers whoever comes; resume uses no code).
A worker that fails before our message is out is replaced by SPAKE2 here; one that fails after
it (killed, say) ends the pairing as an internal error, not as a wrong code.

Frames both ways: 4-byte big-endian length, then the bytes. To the worker: the code, then the
peer's message. From it: our message, then b"K" + key or b"E" + why the peer's message failed."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

from rassist.crypto.pake import Pake, PakeError, check_shape

WORKER_TIMEOUT = 10.0   # seconds an answer may take (it takes ~50 ms to start, ~10 to compute)
MAX_FRAME = 4096        # our message is 33 bytes, a key 33, a reason well under this


class WorkerGone(RuntimeError):
    """The worker died or stopped answering: not the peer's doing (no wrong code, no burned
    nameplate), an internal error of this side."""


class PakeProcess:
    """The worker for one code: `outbound` and finish() as crypto.pake.Pake has them."""

    def __init__(self, proc: subprocess.Popen[bytes], code: str) -> None:
        self._proc = proc
        self.code = code
        self._outbound: bytes | None = None
        self._here: Pake | None = None  # SPAKE2 in this process, if the worker failed early

    @classmethod
    def start(cls, code: str) -> PakeProcess | None:
        """The worker, computing our message already; None where SPAKE2 should run here."""
        if (os.cpu_count() or 1) < 2:
            return None
        # -I: no current directory, no PYTHONPATH, no user site: the path is set from ours.
        boot = ("import sys; sys.path[:] = sys.argv[1:]; "
                "from rassist.crypto.pake_process import serve; serve()")
        flags = ["-I", "-B"] if sys.flags.dont_write_bytecode else ["-I"]
        try:
            proc = subprocess.Popen([sys.executable, *flags, "-c", boot, *sys.path],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, close_fds=True)
        except OSError:
            return None
        worker = cls(proc, code)
        try:
            worker._send(code.encode("utf-8"))
        except WorkerGone:
            worker.close()
            return None
        return worker

    @property
    def outbound(self) -> bytes:
        if self._outbound is None:
            try:
                self._outbound = self._receive()
            except WorkerGone:
                self.close()
                self._here = Pake(self.code)
                self._outbound = self._here.outbound
        return self._outbound

    def finish(self, inbound: bytes) -> bytes:
        check_shape(inbound, self.outbound)
        if self._here is not None:
            return self._here.finish(inbound)
        self._send(inbound)
        answer = self._receive()
        self.close()
        if answer[:1] == b"K":
            return answer[1:]
        if answer[:1] == b"E":
            raise PakeError(answer[1:].decode("utf-8", "replace"))
        raise WorkerGone("the SPAKE2 worker answered nonsense")

    def close(self) -> None:
        """The worker ends (it also ends by itself once it has answered, or when we exit)."""
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()
        try:
            self._proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def _send(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(len(data).to_bytes(4, "big") + data)
            self._proc.stdin.flush()
        except (OSError, ValueError):
            raise WorkerGone("the SPAKE2 worker is gone") from None

    def _receive(self) -> bytes:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + WORKER_TIMEOUT
        size = _read_exactly(fd, 4, deadline)
        length = int.from_bytes(size, "big")
        if length > MAX_FRAME:
            raise WorkerGone("the SPAKE2 worker sent an oversized answer")
        return _read_exactly(fd, length, deadline)


def _read_exactly(fd: int, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise WorkerGone("the SPAKE2 worker did not answer")
        chunk = os.read(fd, count - len(data))
        if not chunk:
            raise WorkerGone("the SPAKE2 worker is gone")
        data += chunk
    return data


def serve() -> None:
    """The worker's side: one code, one exchange, then out (os._exit: nothing to tidy)."""
    from rassist.crypto.pake import Pake

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def read() -> bytes:
        size = stdin.read(4)
        if len(size) < 4:
            os._exit(0)  # the parent went away
        return stdin.read(int.from_bytes(size, "big"))

    def write(data: bytes) -> None:
        stdout.write(len(data).to_bytes(4, "big") + data)
        stdout.flush()

    pake = Pake(read().decode("utf-8"))
    write(pake.outbound)
    inbound = read()
    try:
        write(b"K" + pake.finish(inbound))
    except PakeError as exc:
        write(b"E" + str(exc).encode("utf-8")[:1000])
    os._exit(0)


def start_for(code_text: str | None) -> PakeProcess | None:
    """The worker for the code a joiner was given on its command line; None without one (or
    with a malformed one: pairing says what is wrong with it), or where SPAKE2 runs here."""
    from rassist.protocol.codes import parse_code

    if not code_text:
        return None
    try:
        code = str(parse_code(code_text))
    except ValueError:
        return None
    return PakeProcess.start(code)
