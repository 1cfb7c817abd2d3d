"""Who may type into the shared shell: the `control` permission, as for mouse and keyboard.

Speaks the same "ctl" messages as media/control.py, so the joiner's JoinControl
(media/join_control.py) needs nothing new: {"t":"control","granted":...} from the host,
{"t":"control-request"} from the joiner.
Host commands {"grant": "control"} and {"revoke": "control"}; events "control" and
"control-request". No injector is involved: the gate is the permission check in host.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCPeerConnection

from rassist.errors import CommandError
from rassist.protocol.permissions import CONTROL, only_control
from rassist.session import Session

Ask = Callable[[str], Awaitable[bool]]


class ShellControl:
    def __init__(self, ask: Ask | None = None) -> None:
        self.ask = ask
        self.session: Session | None = None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        self.session = session
        session.ctl.on("control-request", self._on_request)
        session.add_command("grant", self._grant_command)
        session.add_command("revoke", self._revoke_command)
        if CONTROL in session.granted:
            session.ctl.send({"t": "control", "granted": True})
            session.emit("control", state="granted", peer=session.peer_name)

    async def stop(self) -> None:
        self.session = None

    def grant(self) -> None:
        session = self._session()
        if CONTROL in session.granted:
            return
        session.granted.add(CONTROL)
        session.ctl.send({"t": "control", "granted": True})
        session.emit("control", state="granted", peer=session.peer_name)

    def revoke(self, reason: str = "revoked by the host") -> None:
        session = self._session()
        if CONTROL not in session.granted:
            raise CommandError("control is not granted")
        session.granted.discard(CONTROL)
        session.ctl.send({"t": "control", "granted": False, "reason": reason})
        session.emit("control", state="revoked", peer=session.peer_name)

    def _grant_command(self, cmd: dict[str, Any]) -> None:
        only_control(cmd, "grant")
        self.grant()

    def _revoke_command(self, cmd: dict[str, Any]) -> None:
        only_control(cmd, "revoke")
        self.revoke()

    async def _on_request(self, msg: dict[str, Any]) -> None:
        session = self._session()
        if CONTROL in session.granted:  # the joiner missed our grant: say it again
            session.ctl.send({"t": "control", "granted": True})
            return
        session.emit("control-request", peer=session.peer_name)
        if self.ask is None:
            return
        if await self.ask(session.peer_name):
            self.grant()
            return
        session.ctl.send({"t": "control", "granted": False, "reason": "declined by the host"})
        session.emit("control", state="declined", peer=session.peer_name)

    def _session(self) -> Session:
        if self.session is None:
            raise CommandError("nobody is connected")
        return self.session
