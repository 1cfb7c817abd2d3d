"""One participant of a session, as this side sees it: on the host, one helper; on a joiner, the
host. It is what features get in start(x): its channels, its permissions, its commands, its
events (which name it).

The link (peer connection + ctl channel) is a part of its own (Link) so that a later resume can
put a fresh peer connection in its place while the participant, its id, name and permissions
stay: features are prepared again on the new one (see replace_link's docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rassist.errors import CommandError, ConnectionLost
from rassist.protocol.ratelimit import TokenBucket

if TYPE_CHECKING:
    from aiortc import RTCDataChannel, RTCPeerConnection

    from rassist.resuming import ResumeConfig
    from rassist.session import CommandHandler, Feature, Session, Toggle
    from rassist.transport.ctl import Ctl
    from rassist.transport.peer import Peer

HEARTBEAT = 1.0
BYE_WAIT = 2.5  # s a goodbye waits for the peer's ack: SCTP's first retransmission comes after >= 1 s
MAX_CHAT = 4000
CHAT_RATE, CHAT_BURST = 10.0, 30.0  # a peer's chat lines per second: more is a flood, not talk
# A peer's goodbye that says more than "I left": passed on as the reason.
BYE_REASONS = {"shell-exited", "removed", "full"}


class Link:
    """The replaceable part of a participant: its peer connection and the ctl channel on it."""

    def __init__(self, peer: Peer) -> None:
        from rassist.transport.channel import MessageChannel

        self.peer = peer
        self.pc: RTCPeerConnection = peer.pc
        self.ctl: MessageChannel = MessageChannel(peer, "ctl")

    async def close(self) -> None:
        await self.peer.close()


class Participant:
    """`role` is this side's role ("host" or "join"), as features expect it."""

    def __init__(self, session: Session, pid: str, link: Link, name: str, granted: set[str],
                 features: list[Feature], peer_timeout: float) -> None:
        self.session = session
        self.id = pid
        self.role = session.role
        self.link = link
        self.peer_name = name
        self.granted = granted
        self.features = features
        self.peer_timeout = peer_timeout
        self.rtt: float | None = None  # seconds, smoothed, from the heartbeat's ping and pong
        self.chat_dropped = 0
        self.commands: dict[str, CommandHandler] = {}
        self.permissions: dict[str, tuple[Toggle, Toggle]] = {}  # name -> (grant, revoke), host only
        self.before_bye = session.before_bye  # last words for the whole session (the record's chain head)
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.closing = False
        self._last_heard = time.monotonic()
        self._pings: dict[int, float] = {}
        self._chat_bucket = TokenBucket(CHAT_RATE, CHAT_BURST)
        self._beat: asyncio.Task[None] | None = None
        self._listeners: dict[str, Callable[[str | bytes], None]] = {}
        self.resume: ResumeConfig | None = None  # None: a dropped link ends this participant
        self.reconnecting = False
        from rassist.transport.ctl import Ctl

        self._ctl = Ctl(link.ctl)
        self._bind(link)

    # ------------------------------------------------------------ what features use

    @property
    def peer(self) -> Peer:
        return self.link.peer

    @property
    def pc(self) -> RTCPeerConnection:
        return self.link.pc

    @property
    def ctl(self) -> Ctl:
        """Control messages, across links: all but heartbeats are numbered and acknowledged."""
        return self._ctl

    def emit(self, event: str, **fields: Any) -> None:
        """An event of the session that concerns this participant (the host names it by id)."""
        if self.role == "host":
            fields.setdefault("participant", self.id)
            fields.setdefault("peer", self.peer_name)
        self.session.emit(event, **fields)
        if event in ("control", "annotate") and self.role == "host":  # the participants list changed
            self.session.roster_changed()

    def channel(self, label: str) -> RTCDataChannel:
        """A data channel for sending; receive with listen() so no early message is lost."""
        return self.link.peer.channels[label]

    def listen(self, label: str, callback: Callable[[str | bytes], None]) -> None:
        """Kept: a resumed link delivers this channel's messages to the same callback. A
        second listen() to a label replaces the first (a feature re-bound after a resume)."""
        old = self._listeners.get(label)
        self._listeners[label] = callback
        if old is None:
            self.link.peer.listen(label, callback)
            return
        dc = self.link.peer.channels[label]
        with contextlib.suppress(KeyError):
            dc.remove_listener("message", old)
        dc.on("message", callback)

    def add_command(self, key: str, handler: CommandHandler) -> None:
        self.commands[key] = handler

    def has_command(self, key: str) -> bool:
        return key in self.commands

    def tell(self, event: str, **fields: Any) -> None:
        """An event for both sides: emitted here (naming the peer) and sent to the peer as a
        control message of the same name."""
        self.emit(event, **fields)
        self.ctl.send({"t": event, **fields})

    def add_permission(self, name: str, grant: Toggle, revoke: Toggle) -> None:
        """A permission the host can give and take back later ({"grant": name, "to": ID});
        the feature that owns it does the work and tells the peer."""
        self.permissions[name] = (grant, revoke)

    def has_permission(self, name: str) -> bool:
        return name in self.permissions

    async def grant_control(self) -> None:
        """HostControl's answer to a request it asked the host about: through the session's
        table, so that control leaves whoever holds it now."""
        await self.session.grant(self, "control")

    def outcome(self) -> str | None:
        return self.session.outcome()

    # ------------------------------------------------------------ life

    async def start(self, extra: Sequence[Feature] = ()) -> None:
        for feature in [*extra, *self.features]:
            await feature.start(self)
        self.ctl.start()
        self._beat = asyncio.ensure_future(self._heartbeat())

    async def stop(self, extra: Sequence[Feature] = ()) -> None:
        """Features down (input released, captures stopped), the link closed."""
        self.closing = True  # tearing down ourselves: the peer connection closing is no loss
        if self._beat is not None:
            self._beat.cancel()
        for feature in reversed([*extra, *self.features]):
            with contextlib.suppress(Exception):
                await feature.stop()
        await self.link.close()

    async def say_bye(self, reason: str) -> None:
        """Tell the peer we end (the host: this participant is removed, or the host quits)."""
        if self.ended.done():
            return
        self.closing = True  # the peer may hang up first once it has our bye: that is fine
        self.ctl.send({"t": "bye", "reason": reason})
        if self.ctl.channel is None:  # reconnecting: there is no link to say it on
            return
        # Until the peer acknowledges it: on a lossy link the first copy may be lost, and SCTP
        # sends it again only while the association lives (a bye that never arrives would leave
        # the peer waiting out the whole resume window). A peer that never answers costs BYE_WAIT.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BYE_WAIT
        while self.ctl.unacked and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.02)  # our ack of their last message, if any, leaves too

    def end(self, outcome: str | Exception) -> None:
        if self.ended.done():
            return
        if isinstance(outcome, Exception):
            self.ended.set_exception(outcome)
        else:
            self.ended.set_result(outcome)

    def replace_link(self, link: Link) -> Link:
        """Put a fresh, connected link in place of the current one (resume, issue 18: a new
        peer connection paired through the rendezvous); returns the old one, for the caller to
        close (its failing no longer ends anything). The participant keeps its id, name and
        permissions; the ctl channel works at once. Preparing the features on the new peer
        connection (before its SDP) and starting them again on it is the caller's part."""
        return self.relink(link, None)

    def relink(self, link: Link, peer_ack: int | None) -> Link:
        """replace_link with the peer's ack of our control messages (from the resume
        handshake): only what it has not got goes again."""
        old = self.swap_link(link)
        self.attach_ctl(peer_ack)
        return old

    def swap_link(self, link: Link) -> Link:
        """The new link in place, channel listeners carried over; control messages wait for
        attach_ctl() (after the features are re-bound: a message may need them)."""
        old, self.link = self.link, link
        self._bind(link)
        for label, callback in self._listeners.items():
            link.peer.listen(label, callback)
        self._last_heard = time.monotonic()
        return old

    def attach_ctl(self, peer_ack: int | None) -> None:
        self._ctl.attach(self.link.ctl, peer_ack)

    def pause(self) -> None:
        """The link dropped: no heartbeat until the next one; control messages are kept."""
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        self._ctl.detach()

    def restart(self) -> None:
        """A resumed link is in place: the heartbeat again, and a fresh outcome to wait for."""
        if self.ended.done():
            self.ended = asyncio.get_running_loop().create_future()
        self.closing = False
        self._last_heard = time.monotonic()
        self._beat = asyncio.ensure_future(self._heartbeat())

    def _bind(self, link: Link) -> None:
        ctl = self._ctl
        ctl.on_any = self._heard
        ctl.on("chat", self._on_chat)
        ctl.on("bye", self._on_bye)
        ctl.on("ping", self._on_ping)
        ctl.on("pong", self._on_pong)
        for kind, handler in self.session.ctl_handlers(self).items():
            ctl.on(kind, handler)
        pc = link.pc

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc is self.link.pc and pc.connectionState in ("failed", "closed") and not self.closing:
                self.end(ConnectionLost(f"connection to {self.peer_name} lost"))

    def _heard(self) -> None:
        self._last_heard = time.monotonic()

    async def _heartbeat(self) -> None:
        number = 0
        while True:
            number += 1
            self._pings = {n: t for n, t in self._pings.items() if n > number - 10}
            self._pings[number] = time.monotonic()
            self.ctl.send({"t": "ping", "n": number})
            if time.monotonic() - self._last_heard > self.peer_timeout:
                self.end(ConnectionLost(f"{self.peer_name} stopped answering for {self.peer_timeout:g} s"))
                return
            await asyncio.sleep(HEARTBEAT)

    def _on_ping(self, msg: dict[str, Any]) -> None:
        if isinstance(msg.get("n"), int):
            self.ctl.send({"t": "pong", "n": msg["n"]})

    def _on_pong(self, msg: dict[str, Any]) -> None:
        sent = self._pings.pop(msg.get("n"), None) if isinstance(msg.get("n"), int) else None
        if sent is not None:
            sample = time.monotonic() - sent
            self.rtt = sample if self.rtt is None else 0.8 * self.rtt + 0.2 * sample

    def _on_chat(self, msg: dict[str, Any]) -> None:
        text = msg.get("text")
        if not isinstance(text, str):
            return
        if not self._chat_bucket.allow(time.monotonic()):
            # A flood would bury the screen (and the TUI's keys, F2 to revoke among them).
            self.chat_dropped += 1
            if self.chat_dropped == 1 or self.chat_dropped % 100 == 0:
                self.emit("error", kind="flood", message=f"{self.peer_name} sends chat faster than "
                          f"{CHAT_RATE:g} lines a second: {self.chat_dropped} line(s) dropped")
            return
        self.session.heard_chat(self, text[:MAX_CHAT], msg)

    def _on_bye(self, msg: dict[str, Any]) -> None:
        self.closing = True
        self.end(msg["reason"] if msg.get("reason") in BYE_REASONS else "peer-left")

    def permission(self, cmd: dict[str, Any], key: str) -> tuple[str, tuple[Toggle, Toggle]]:
        """The permission a {"grant": ...} or {"revoke": ...} names, and its toggles."""
        if not self.permissions:
            raise CommandError(f"nothing can be granted to {self.peer_name} in this session")
        name = cmd[key]
        if name is True:  # a bare "/grant" or "/revoke" in plain mode means control
            name = "control" if "control" in self.permissions else next(iter(self.permissions))
        if not isinstance(name, str) or name not in self.permissions:
            known = " or ".join(f'"{p}"' for p in self.permissions)
            raise CommandError(f'{key} takes {known}, as in {{"{key}": "{next(iter(self.permissions))}"}}')
        return name, self.permissions[name]
