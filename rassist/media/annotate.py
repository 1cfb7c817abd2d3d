"""Pointing and drawing on the host's screen: the host's session feature, and the messages
both sides speak.

Host (HostAnnotate): grants `annotate` along with `view` unless told not to, checks every mark
from the joiner (permission, validation, rate), puts it on the Board and lets the Overlay draw
it on the real screen. A host with no X display (or on Wayland) refuses marks with the reason.
Joiner (JoinAnnotate, in join_annotate.py): turns stdin commands ({"point"|"draw"|"label"|"clear": ...}) into marks.

Messages on the "ctl" channel:
    joiner -> host  {"t":"mark", ...}                (see protocol/annotate.py)
    host -> joiner  {"t":"annotate","granted":true|false[,"reason":"..."]}
    host -> joiner  {"t":"mark-refused","reason":"...","count":n,"message":"..."}
Events: "annotate" {state granted|revoked|unavailable} on both sides; on the host "mark" {peer,
kind} for strokes, labels and clears (pointer moves are too many to list), "mark-refused".
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection

from rassist.errors import CommandError
from rassist.media.inject import Monitor
from rassist.protocol.annotate import AnnotateError, Board, Clear, Label, Point, Stroke, decode
from rassist.protocol.permissions import ANNOTATE
from rassist.protocol.refusals import RefusalReport, RefusalReporter
from rassist.session import Session

PEER = "peer"     # the Board's author id for the (one) joiner
TICK = 0.5        # how often refusals counted meanwhile are reported
Clock = Callable[[], float]


def unavailable_reason() -> str | None:
    """Why this machine cannot show marks, or None if it can."""
    if not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            return "annotations need X11; this is a Wayland session without an X display"
        return "annotations need a display, and this host has none"
    if os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return "annotations need X11: on Wayland other programs' windows cannot be drawn over"
    return None


def _kind(mark: object) -> str:
    return {Point: "point", Stroke: "draw", Label: "label", Clear: "clear"}[type(mark)]


class SharedBoard:
    """One board and one overlay for the marks of every helper of a session (each in its own
    colour): the host's session-wide part of annotations. A session feature only to be stopped
    (the overlay closed) when the session ends."""

    def __init__(self) -> None:
        self.board = Board()
        self.overlay: Any = None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Any) -> None:
        pass

    async def stop(self) -> None:
        if self.own_board:
            await self.shared.stop()
        else:  # the others' marks stay; this helper's go
            self._change(lambda: (self.board.clear(self.author), self.board.leave(self.author)))


class HostAnnotate:
    def __init__(self, monitor: Monitor | None, with_view: bool = True, clock: Clock = time.monotonic,
                 shared: SharedBoard | None = None) -> None:
        """`monitor`: the shared monitor (None: no display). `with_view`: grant annotate to
        every joiner who may view, without asking. `shared`: the session's board, when several
        helpers draw on one screen (else a board of this helper's own)."""
        self.monitor = monitor
        self.with_view = with_view
        self.clock = clock
        self.shared = shared or SharedBoard()
        self.own_board = shared is None
        self.board = self.shared.board
        self.author = PEER  # the participant's id on a shared board
        self.reporter = RefusalReporter()
        self.unavailable = unavailable_reason() or (None if monitor else "this host shares no screen")
        self.session: Session | None = None
        self._tick: asyncio.Task[None] | None = None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        self.session = session
        if not self.own_board:
            self.author = str(getattr(session, "id", PEER))
        self.board.join(self.author, session.peer_name)
        session.ctl.on("mark", self._on_mark)
        session.add_command("clear", self._clear_command)
        session.add_permission(ANNOTATE, self.grant, self.revoke)
        if self.with_view and "view" in session.granted and self.unavailable is None:
            session.granted.add(ANNOTATE)
        if self.unavailable is not None:
            session.ctl.send({"t": "annotate", "granted": False, "reason": self.unavailable})
        elif ANNOTATE in session.granted:
            session.ctl.send({"t": "annotate", "granted": True})
            session.emit("annotate", state="granted", peer=session.peer_name)
        self._tick = asyncio.ensure_future(self._report_loop())

    async def stop(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
        self._report(self.reporter.flush(self.clock()))
        if self.own_board:
            await self.shared.stop()
        else:  # the others' marks stay; this helper's go
            self._change(lambda: (self.board.clear(self.author), self.board.leave(self.author)))

    async def grant(self) -> None:
        session = self._session()
        if self.unavailable is not None:
            raise CommandError(self.unavailable)
        if ANNOTATE not in session.granted:
            session.granted.add(ANNOTATE)
            session.ctl.send({"t": "annotate", "granted": True})
            session.emit("annotate", state="granted", peer=session.peer_name)

    async def revoke(self) -> None:
        session = self._session()
        session.granted.discard(ANNOTATE)
        self._change(lambda: self.board.clear(self.author))
        session.ctl.send({"t": "annotate", "granted": False, "reason": "revoked by the host"})
        session.emit("annotate", state="revoked", peer=session.peer_name)

    def clear(self) -> None:
        """Every mark off the screen (the host's one key)."""
        self._change(self.board.clear)
        if self.session is not None:
            self.session.emit("mark", peer="me", kind="clear")

    def _clear_command(self, cmd: dict[str, Any]) -> None:
        if cmd["clear"] is not True:
            raise CommandError('clear takes true, as in {"clear": true}')
        self.clear()

    def _on_mark(self, msg: dict[str, Any]) -> None:
        session = self._session()
        now = self.clock()
        try:
            if self.unavailable is not None:
                raise AnnotateError(self.unavailable, "unavailable")
            if ANNOTATE not in session.granted:
                raise AnnotateError("annotate is not granted", "no-permission")
            mark = decode(msg)
            self._ensure_overlay()
            self._change(lambda: self.board.add(self.author, mark, now))
        except AnnotateError as exc:
            report = self.reporter.refused(exc, now)
            if report is not None:
                self._report([report])
            return
        if not isinstance(mark, Point):
            session.emit("mark", peer=session.peer_name, kind=_kind(mark))

    @property
    def overlay(self) -> Any:
        """rassist.media.overlay.Overlay once the first mark needs it (the session's, if shared)."""
        return self.shared.overlay

    @overlay.setter
    def overlay(self, value: Any) -> None:
        self.shared.overlay = value

    def _ensure_overlay(self) -> None:
        if self.overlay is not None:
            return
        from rassist.media.overlay import Overlay, OverlayUnavailable

        assert self.monitor is not None
        overlay = Overlay(self.board, self.monitor, self.clock)
        try:
            overlay.start()
        except OverlayUnavailable as exc:
            self.unavailable = str(exc)
            self._session().emit("annotate", state="unavailable", reason=str(exc))
            raise AnnotateError(str(exc), "unavailable") from None
        self.overlay = overlay

    def _change(self, change: Callable[[], None]) -> None:
        """Change the board under the overlay's lock and have it redraw."""
        overlay = self.overlay
        if overlay is None:
            change()
            return
        with overlay.lock:
            change()
        overlay.wake()

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            if self.reporter.waiting:
                self._report(self.reporter.due(self.clock()))

    def _report(self, reports: list[RefusalReport]) -> None:
        session = self.session
        if session is None:
            return
        for report in reports:
            session.tell("mark-refused", reason=report.reason, count=report.count, message=report.message)

    def _session(self) -> Session:
        if self.session is None:
            raise CommandError("annotations have not started")
        return self.session
