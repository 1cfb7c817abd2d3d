"""The host's shared terminal: one shell, its emulator and recording, and every viewer's feed.

The shell outlives sessions: it starts before the first code is printed and a helper who leaves
and comes back (or arrives late) gets the current screen at once (a SCREEN repaint), then the
live output. Each viewer has its own flow control: while its channel holds more than HIGH bytes
it skips output, and once drained below LOW it gets a fresh repaint and goes on live. So a
`cat` of 100 MB costs a slow viewer a few repaints, not the host's memory or its keyboard."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection

from rassist.protocol import terminal as wire
from rassist.protocol.permissions import CONTROL
from rassist.session import Emit, Session
from rassist.terminal.cast import CastWriter
from rassist.terminal.emulator import Emulator
from rassist.terminal.pty import ShellPty

CHANNEL = "term"
HIGH = 256 * 1024     # bytes queued on a viewer's channel past which it skips output (aiortc has
                      # one send queue for all channels: kept short so chat and pings get through)
LOW = 64 * 1024       # ... and below which it gets a repaint and goes live again
CHUNK = 32 * 1024     # OUTPUT frames stay small so keys and pings interleave
TICK = 0.05           # flow-control and idle-drawing period
IDLE_SLICE = 16 * 1024  # pyte work per tick while idle: the loop never stalls for long
REPORT_EVERY = 1.0    # refusals are summed and reported at most this often
REPAINT_EVERY = 1.0   # a lagging viewer's repaints (each costs the host a catch-up) at most this often
BACKLOG = 32 * 1024   # output the host's emulator keeps undrawn: a repaint costs at most ~80 ms of pyte


class Viewer:
    def __init__(self, session: Session, dc: RTCDataChannel) -> None:
        self.session = session
        self.dc = dc
        self.live = False     # False: skipping output until the next repaint
        self.refused = 0
        self.refused_reason = ""
        self.refused_message = ""
        self.last_report = 0.0
        self.last_repaint = 0.0

    def send(self, frame: wire.Frame) -> None:
        if self.dc.readyState == "open":
            self.dc.send(wire.encode(frame))


class HostTerminal:
    """`argv` runs in the pty; `local` is the host's own terminal (or None when headless);
    `cast` is where the asciicast goes (None: no recording)."""

    def __init__(self, argv: list[str], size: tuple[int, int], cast: Path | None = None,
                 local: Any = None, title: str | None = None) -> None:
        self.argv = argv
        self.cols, self.rows = size
        self.cast_path = cast
        self.local = local
        self.title = title
        self.offset = 0
        self.viewers: list[Viewer] = []
        self.emit: Emit = lambda *a, **k: None
        self.emulator = Emulator(self.cols, self.rows, BACKLOG)
        self.cast: CastWriter | None = None
        self.pty: ShellPty | None = None
        self._tick: asyncio.Task[None] | None = None
        self._last_output = 0.0
        self.on_exit: Callable[[int], None] | None = None

    # ------------------------------------------------------------ the shell's life

    async def open(self, emit: Emit) -> None:
        """Start the shell (and its recording) before any helper arrives."""
        self.emit = emit
        # The shell first (a command that does not exist leaves no empty recording behind); it
        # is read only once we are back in the loop, so the recording still gets every byte.
        self.pty = ShellPty(self.argv, self.cols, self.rows, self._on_output)
        if self.cast_path is not None:
            try:
                self.cast = CastWriter(self.cast_path, self.cols, self.rows, self.title)
            except OSError as exc:
                emit("error", kind="cast", message=f"cannot record to {self.cast_path}: {exc}; not recording")
        emit("shell", command=self.argv, pid=self.pty.pid, cols=self.cols, rows=self.rows)
        if self.cast is not None:
            emit("cast", path=str(self.cast.path))
        if self.local is not None:
            self.local.start(self)
        self._tick = asyncio.ensure_future(self._ticker())
        self.pty.exited.add_done_callback(self._exited)

    @property
    def exited(self) -> asyncio.Future[int]:
        assert self.pty is not None
        return self.pty.exited

    def _exited(self, fut: asyncio.Future[int]) -> None:
        status = fut.result()
        self.emit("shell-exit", status=status)
        for viewer in self.viewers:
            viewer.send(wire.Exit(status))
        if self.on_exit is not None:
            self.on_exit(status)

    async def close(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
        if self.local is not None:
            self.local.stop()
        if self.pty is not None:
            await self.pty.close()
        if self.cast is not None:
            self.cast.close()
            if self.cast.error:
                self.emit("error", kind="cast", message=self.cast.error)

    def type_keys(self, data: bytes) -> None:
        """The host's own keys (its terminal): always allowed."""
        if self.pty is not None:
            self.pty.write(data)

    def resize(self, cols: int, rows: int) -> None:
        """A new size for the shell: the host's terminal changed, or a helper with control asked."""
        if (cols, rows) == (self.cols, self.rows) or self.pty is None:
            return
        self.cols, self.rows = cols, rows
        self.pty.resize(cols, rows)
        self.emulator.resize(cols, rows)
        if self.cast is not None:
            self.cast.resize(cols, rows)
        for viewer in self.viewers:
            viewer.send(wire.Size(cols, rows))
        self.emit("term-size", cols=cols, rows=rows)

    def _on_output(self, data: bytes) -> None:
        start = self.offset
        self.offset += len(data)
        self._last_output = time.monotonic()
        if self.cast is not None:
            self.cast.output(data)
            if self.cast.error:
                self.emit("error", kind="cast", message=self.cast.error)
                self.cast = None
        self.emulator.feed(data)
        if self.local is not None:
            self.local.write(data)
        for viewer in self.viewers:
            if viewer.live and viewer.dc.bufferedAmount > HIGH:
                viewer.live = False  # it gets a repaint once it has caught up
            if viewer.live:
                for i in range(0, len(data), CHUNK):
                    viewer.send(wire.Output(start + i, data[i:i + CHUNK]))

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            for viewer in self.viewers:
                if (not viewer.live and viewer.dc.readyState == "open" and viewer.dc.bufferedAmount < LOW
                        and time.monotonic() - viewer.last_repaint >= REPAINT_EVERY):
                    self._repaint(viewer)
                self._report(viewer, force=False)
            if self.emulator.pending and time.monotonic() - self._last_output > TICK:
                self.emulator.catch_up(IDLE_SLICE)  # keep the screen ready for the next joiner

    def _repaint(self, viewer: Viewer) -> None:
        viewer.send(wire.Screen(self.offset, self.cols, self.rows, self.emulator.repaint()))
        viewer.live = True
        viewer.last_repaint = time.monotonic()

    # ------------------------------------------------------------ feature protocol

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        viewer = Viewer(session, session.channel(CHANNEL))
        if "view" in session.granted:
            viewer.send(wire.Size(self.cols, self.rows))
            self._repaint(viewer)
            self.viewers.append(viewer)
        session.listen(CHANNEL, lambda data: self._on_frame(viewer, data))

    async def relink(self, session: Session) -> None:
        """A resumed link: the same viewer on the new channel, repainted whole."""
        for viewer in self.viewers:
            if viewer.session is session:
                viewer.dc = session.channel(CHANNEL)
                viewer.send(wire.Size(self.cols, self.rows))
                self._repaint(viewer)

    async def stop(self) -> None:
        for viewer in self.viewers:
            self._report(viewer, force=True)
        # A host has one session at a time (until several participants arrive): it has ended.
        self.viewers.clear()

    def _on_frame(self, viewer: Viewer, data: str | bytes) -> None:
        """aiortc calls this on its loop: never raise."""
        session = viewer.session
        try:
            frame = wire.decode(data)
        except wire.TermFrameError as exc:
            self._refuse(viewer, "malformed", str(exc))
            return
        if not isinstance(frame, (wire.Input, wire.Resize)):
            self._refuse(viewer, "malformed", "a helper may only send INPUT and RESIZE")
            return
        if CONTROL not in session.granted:
            self._refuse(viewer, "not-permitted", "typing needs the control permission")
            return
        if isinstance(frame, wire.Input):
            if self.pty is None or not self.pty.write(frame.data):
                self._refuse(viewer, "busy", "the shell is not reading its input")
        elif self.local is not None:
            self._refuse(viewer, "host-size", "the host's terminal size is authoritative")
        else:
            self.resize(frame.cols, frame.rows)

    def _refuse(self, viewer: Viewer, reason: str, message: str) -> None:
        viewer.refused += 1
        viewer.refused_reason = reason
        viewer.refused_message = message
        self._report(viewer, force=False)

    def _report(self, viewer: Viewer, force: bool) -> None:
        now = time.monotonic()
        if not viewer.refused or (not force and now - viewer.last_report < REPORT_EVERY):
            return
        session = viewer.session
        fields = {"reason": viewer.refused_reason, "count": viewer.refused,
                  "message": viewer.refused_message}
        session.emit("input-refused", peer=session.peer_name, **fields)
        with contextlib.suppress(Exception):
            session.ctl.send({"t": "input-refused", **fields})
        viewer.refused = 0
        viewer.last_report = now
