"""Pointing and drawing on the host's screen, the joiner's side (the host's is media/annotate.py,
the messages in its docstring): stdin commands ({"point"|"draw"|"label"|"clear": ...}) become
marks; the host's answers become "annotate" events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rassist.errors import CommandError
from rassist.protocol.permissions import ANNOTATE
from rassist.session import Session

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

    from rassist.protocol import annotate as marks
else:  # the marks' parsers load with the first command (rassist/lazy.py)
    from rassist.lazy import LazyModule

    marks = LazyModule("rassist.protocol.annotate")


class JoinAnnotate:
    def __init__(self) -> None:
        self.session: Session | None = None
        self.sent = 0

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        self.session = session
        session.ctl.on("annotate", self._on_annotate)
        session.ctl.on("mark-refused", self._on_refused)
        for name in ("point", "draw", "label", "clear"):
            session.add_command(name, self._command)

    async def stop(self) -> None:
        pass

    @property
    def granted(self) -> bool:
        return self.session is not None and ANNOTATE in self.session.granted

    def _command(self, cmd: dict[str, Any]) -> None:
        session = self._session()
        try:
            mark = marks.parse_command(cmd)
        except marks.AnnotateError as exc:
            raise CommandError(str(exc)) from None
        if not self.granted:
            raise CommandError("the host has not granted annotate (pointing and drawing on its screen)")
        session.ctl.send(marks.encode(mark))
        self.sent += 1

    def _on_annotate(self, msg: dict[str, Any]) -> None:
        session = self._session()
        granted = msg.get("granted")
        if not isinstance(granted, bool):
            return
        reason = msg.get("reason") if isinstance(msg.get("reason"), str) else None
        was = ANNOTATE in session.granted
        if granted:
            session.granted.add(ANNOTATE)
            if not was:
                session.emit("annotate", state="granted", peer=session.peer_name)
            return
        session.granted.discard(ANNOTATE)
        fields = {"reason": reason[:300]} if reason else {}
        session.emit("annotate", state="revoked" if was else "unavailable", peer=session.peer_name, **fields)

    def _on_refused(self, msg: dict[str, Any]) -> None:
        count, reason, message = msg.get("count"), msg.get("reason"), msg.get("message")
        if isinstance(count, int) and isinstance(reason, str):
            text = message[:300] if isinstance(message, str) else reason
            self._session().emit("error", kind="annotate",
                                 message=f"the host refused {count} mark(s) ({reason[:40]}): {text}")

    def _session(self) -> Session:
        if self.session is None:
            raise CommandError("annotations have not started")
        return self.session
