"""The joiner's side of a shared shell: the host's output into an emulator, keys back with control.

Events ("term-output" only with `events=True`, the --json mode):
    {"event":"term","state":"shared","cols":80,"rows":24}   the host shares a terminal (and its size)
    {"event":"term-output","seq":N,"data":"..."}            output from byte offset N of the shell's
        stream; "screen": true marks a repaint of the whole screen (on arrival, or after output was
        skipped because we fell behind: "skipped" says how many bytes)
    {"event":"term-size","cols":..,"rows":..}               the host's size changed
    {"event":"term-screen","lines":[...],"cursor":[x,y]}    answer to {"term-screen": true}
    {"event":"term-exit","status":N}                        the shell ended (the session ends too)
Commands: {"term-input": "uptime\\n"} and {"term-resize": [cols, rows]} (both need control),
{"term-screen": true}."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rassist.errors import CommandError
from rassist.protocol.permissions import CONTROL
from rassist.session import Session

if TYPE_CHECKING:  # a joiner builds this before WebRTC has loaded; pyte only once a shell is shared
    from aiortc import RTCPeerConnection

    from rassist.protocol import terminal as wire
    from rassist.terminal.emulator import Emulator
else:  # the frames' parsers load with the first frame or command (rassist/lazy.py)
    from rassist.lazy import LazyModule

    wire = LazyModule("rassist.protocol.terminal")

CHANNEL = "term"
INPUT_BACKLOG = 256 * 1024  # keys queued on our side past which typing is refused (a dead link)


class JoinTerminal:
    def __init__(self, events: bool = False, on_update: Callable[[], None] | None = None) -> None:
        self.events = events
        self.on_update = on_update
        self.session: Session | None = None
        self.emulator: Emulator | None = None
        self.expected = 0        # the next output offset we expect
        self.exit_status: int | None = None
        self.rejected = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    @property
    def shared(self) -> bool:
        return self.emulator is not None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        self.session = session
        session.add_command("term-input", self._input_command)
        session.add_command("term-resize", self._resize_command)
        session.add_command("term-screen", self._screen_command)
        session.listen(CHANNEL, self._on_frame)

    async def stop(self) -> None:
        pass

    # ------------------------------------------------------------ host -> us

    def _on_frame(self, data: str | bytes) -> None:
        """aiortc calls this on its loop: whatever the host sends, never raise."""
        try:
            self._frame(data)
        except Exception:  # noqa: BLE001 - the emulator choking on hostile bytes ends nothing
            self.rejected += 1

    def _frame(self, data: str | bytes) -> None:
        try:
            frame = wire.decode(data)
        except wire.TermFrameError:
            self.rejected += 1
            return
        if isinstance(frame, wire.Size):
            self._size(frame.cols, frame.rows)
        elif isinstance(frame, wire.Output):
            if self.emulator is None:
                self._size(80, 24)
            assert self.emulator is not None
            self.emulator.feed(frame.data)
            self.expected = frame.offset + len(frame.data)
            self._emit("term-output", seq=frame.offset, data=self._decoder.decode(frame.data))
        elif isinstance(frame, wire.Screen):
            self._size(frame.cols, frame.rows)
            assert self.emulator is not None
            self.emulator.reset(frame.cols, frame.rows, frame.data)
            skipped = max(0, frame.offset - self.expected)
            self.expected = frame.offset
            self._decoder.reset()
            self._emit("term-output", seq=frame.offset, data=frame.data.decode("utf-8", "replace"),
                       screen=True, skipped=skipped)
        elif isinstance(frame, wire.Exit):
            self.exit_status = frame.status
            self._emit("term-exit", status=frame.status)
        else:
            self.rejected += 1  # INPUT and RESIZE only go the other way
            return
        if self.on_update is not None:
            self.on_update()

    def _size(self, cols: int, rows: int) -> None:
        if self.emulator is None:
            from rassist.terminal.emulator import Emulator

            self.emulator = Emulator(cols, rows)
            self._emit("term", state="shared", cols=cols, rows=rows)
        elif (cols, rows) != (self.emulator.cols, self.emulator.rows):
            self.emulator.resize(cols, rows)
            self._emit("term-size", cols=cols, rows=rows)

    def _emit(self, event: str, **fields: Any) -> None:
        # Without `events` (the TUI, the plain view) only the rare events go out, not the output.
        if (self.events or event != "term-output") and self.session is not None:
            self.session.emit(event, **fields)

    # ------------------------------------------------------------ us -> host

    def type_keys(self, data: bytes) -> None:
        """Keys for the shell (the TUI and the plain view); raises CommandError when refused."""
        session = self._session()
        if CONTROL not in session.granted:
            raise CommandError('read-only: typing needs the control permission; ask with {"request": "control"}')
        dc = session.channel(CHANNEL)
        if dc.readyState != "open" or dc.bufferedAmount > INPUT_BACKLOG:
            raise CommandError("the host is not taking keys right now (the link is stalled)")
        for i in range(0, len(data), wire.MAX_INPUT):
            dc.send(wire.encode(wire.Input(data[i:i + wire.MAX_INPUT])))

    def request_size(self, cols: int, rows: int) -> None:
        session = self._session()
        if CONTROL not in session.granted:
            raise CommandError("resizing the shared terminal needs the control permission")
        wire.check_size(cols, rows)
        session.channel(CHANNEL).send(wire.encode(wire.Resize(cols, rows)))

    def _input_command(self, cmd: dict[str, Any]) -> None:
        try:
            frames = wire.input_frames(cmd["term-input"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self._need_shell()
        self.type_keys(b"".join(f.data for f in frames))

    def _resize_command(self, cmd: dict[str, Any]) -> None:
        try:
            resize = wire.resize_command(cmd["term-resize"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self._need_shell()
        self.request_size(resize.cols, resize.rows)

    def _screen_command(self, cmd: dict[str, Any]) -> None:
        emulator = self._need_shell()
        cursor = emulator.screen.cursor
        self._session().emit("term-screen", cols=emulator.cols, rows=emulator.rows,
                             lines=emulator.lines(), cursor=[cursor.x, cursor.y])

    def _need_shell(self) -> Emulator:
        if self.emulator is None:
            raise CommandError("the host shares no terminal (it was not started with --shell)")
        return self.emulator

    def _session(self) -> Session:
        if self.session is None:
            raise CommandError("not connected")
        return self.session


def term_renderers() -> dict[str, Callable[[dict[str, Any]], str | None]]:
    """Human lines for the plain mode (the --json stream is unaffected)."""
    return {
        "term": lambda f: f"The host shares a terminal ({f.get('cols')}x{f.get('rows')}).",
        "term-size": lambda f: f"The host's terminal is now {f.get('cols')}x{f.get('rows')}.",
        "term-exit": lambda f: f"The shared shell ended (status {f.get('status')}).",
    }
