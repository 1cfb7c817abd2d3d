"""SPAKE2 in a process of its own, for a joiner that knows its code from the start.

A join is bound by one CPU: the interpreter's lock lets one thread run Python at a time, and
importing WebRTC alone fills the way to `connected`. SPAKE2 (importing `spake2` builds its
groups, ~15 ms; our two messages' arithmetic, ~13 ms; pure Python) has no need of that
process: a second one computes it on another core meanwhile, started with the command, and this
process only passes the peer's message in and the key out. Same library, same code
(crypto/pake_worker.py runs crypto/pake.py); the worker imports exactly what this process would
(our sys.path: -I keeps PYTHONPATH and the user's site out, and the current directory unless our
own path has it), in a session of its own (a Ctrl-C at the terminal is ours to handle).

Where there is nothing to gain (one CPU for us, no POSIX pipes to wait on, no interpreter to
start) start() returns None and SPAKE2 runs here, as it does for everything that does not start
early (the host answers whoever comes; resume uses no code). A worker that fails before our
message is out, or says something that is not a SPAKE2 message, is replaced by SPAKE2 here;
one that fails after it (killed, say) ends the pairing as an internal error, not as a wrong code.

`outbound` and finish() block the caller (a select on the pipe) as the in-process Pake's
arithmetic does: our message is ready long before the claim goes out, and the key ~10 ms after
the peer's message goes in; FIRST_TIMEOUT and FINISH_TIMEOUT bound a worker that hangs.

Frames both ways: 4-byte big-endian length, then the bytes. To the worker: the code, then the
peer's message. From it: our message, then b"K" + key or b"E" + why the peer's message failed."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from rassist.crypto.pake import MESSAGE_SIZE, SIDE, Pake, PakeError, check_shape
from rassist.crypto.pake_worker import frame

if TYPE_CHECKING:
    import subprocess

FIRST_TIMEOUT = 2.0     # seconds for our message (~0.1 s to start); then SPAKE2 here (~30 ms)
FINISH_TIMEOUT = 10.0   # seconds for the key (~10 ms of arithmetic)
KEY_SIZE = 32
MAX_FRAME = 4096        # an answer's size we read at all: a reason is well under this


class WorkerGone(RuntimeError):
    """The worker died or stopped answering: not the peer's doing (no wrong code, no burned
    nameplate), an internal error of this side."""


def _cpus() -> int:
    """CPUs this process may run on (its affinity, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
        if os.name != "posix" or _cpus() < 2 or not sys.executable or getattr(sys, "frozen", False):
            return None
        import subprocess

        boot = "import sys; sys.path[:] = sys.argv[1:]; from rassist.crypto.pake_worker import serve; serve()"
        flags = ["-I", "-B"] if sys.flags.dont_write_bytecode else ["-I"]
        try:
            proc = subprocess.Popen([sys.executable, *flags, "-c", boot, *sys.path],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)
        except (OSError, ValueError):
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
                message = self._receive(FIRST_TIMEOUT)
                if len(message) != MESSAGE_SIZE or message[:1] != SIDE:
                    raise WorkerGone("the SPAKE2 worker sent something else than our message")
                self._outbound = message
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
        answer = self._receive(FINISH_TIMEOUT)
        self.close()
        if answer[:1] == b"K" and len(answer) == 1 + KEY_SIZE:
            return answer[1:]
        if answer[:1] == b"E":
            raise PakeError(answer[1:].decode("utf-8", "replace"))
        raise WorkerGone("the SPAKE2 worker answered nonsense")

    def close(self) -> None:
        """The worker ends (it also ends by itself once it has answered, or when we exit)."""
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()
        if self._proc.poll() is None:
            self._proc.kill()  # it has told us all we will use
            self._proc.wait()

    def _send(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(frame(data))
            self._proc.stdin.flush()
        except (OSError, ValueError):
            raise WorkerGone("the SPAKE2 worker is gone") from None

    def _receive(self, timeout: float) -> bytes:
        assert self._proc.stdout is not None
        try:
            fd = self._proc.stdout.fileno()
        except ValueError:  # closed already
            raise WorkerGone("the SPAKE2 worker is gone") from None
        deadline = time.monotonic() + timeout
        length = int.from_bytes(_read_exactly(fd, 4, deadline), "big")
        if length > MAX_FRAME:
            raise WorkerGone("the SPAKE2 worker sent an oversized answer")
        return _read_exactly(fd, length, deadline)


def _read_exactly(fd: int, count: int, deadline: float) -> bytes:
    import select

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


def preload_here(worker: PakeProcess | None) -> tuple[str, ...]:
    """What to import ahead (transport/preload.py) for SPAKE2 in this process: nothing while
    a worker runs it, else `spake2` itself, first."""
    return () if worker is not None else ("spake2",)


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
