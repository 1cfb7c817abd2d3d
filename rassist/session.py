"""The one object the CLI and the TUI talk to: a connected peer, its permissions, its events.

Attributes go down (chat(), handle_command(), close()); events come up through `emit`, one call
per event, with the same names and fields as the --json stream."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rassist.errors import CommandError, ConnectionLost, RassistError
from rassist.protocol.ratelimit import TokenBucket

if TYPE_CHECKING:  # a session exists only once WebRTC is loaded; its types cost nothing before
    from aiortc import RTCDataChannel, RTCPeerConnection

    from rassist.transport.peer import Peer

Role = Literal["host", "join"]
Emit = Callable[..., None]
CommandHandler = Callable[[dict[str, Any]], Awaitable[None] | None]
Toggle = Callable[[], Awaitable[None]]
MAX_CHAT = 4000
HEARTBEAT = 1.0
CHAT_RATE, CHAT_BURST = 10.0, 30.0  # a peer's chat lines per second: more is a flood, not talk
# A peer's goodbye that says more than "I left" (the shared shell ended): passed on as the reason.
BYE_REASONS = {"shell-exited"}


class Feature(Protocol):
    def prepare(self, pc: RTCPeerConnection, role: str) -> None: ...
    async def start(self, session: Session) -> None: ...
    async def stop(self) -> None: ...


class Session:
    def __init__(self, role: Role, peer: Peer, peer_name: str, granted: set[str], emit: Emit,
                 features: list[Feature], peer_timeout: float = 8.0) -> None:
        self.role = role
        self.peer = peer
        self.pc = peer.pc
        self.peer_name = peer_name
        self.granted = granted
        self.emit = emit
        self.features = features
        self.peer_timeout = peer_timeout
        from rassist.transport.channel import MessageChannel

        self.ctl = MessageChannel(peer, "ctl")
        self._commands: dict[str, CommandHandler] = {"chat": self._chat_command, "quit": self._quit_command}
        self._permissions: dict[str, tuple[Toggle, Toggle]] = {}  # name -> (grant, revoke), host only
        self._ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._last_heard = time.monotonic()
        self._closing = False
        self.rtt: float | None = None  # seconds, smoothed, from the heartbeat's ping and pong
        self._pings: dict[int, float] = {}
        self._chat_bucket = TokenBucket(CHAT_RATE, CHAT_BURST)
        self.chat_dropped = 0
        self.before_bye: list[Callable[[], Awaitable[None]]] = []  # last words (the record's chain head)
        self.ctl.on_any = self._heard
        self.ctl.on("chat", self._on_chat)
        self.ctl.on("bye", self._on_bye)
        self.ctl.on("ping", self._on_ping)
        self.ctl.on("pong", self._on_pong)

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self.pc.connectionState in ("failed", "closed") and not self._closing:
                self._end(ConnectionLost(f"connection to {self.peer_name} lost"))

    def channel(self, label: str) -> RTCDataChannel:
        """A data channel for sending; receive with listen() so no early message is lost."""
        return self.peer.channels[label]

    def listen(self, label: str, callback: Callable[[str | bytes], None]) -> None:
        self.peer.listen(label, callback)

    def add_command(self, key: str, handler: CommandHandler) -> None:
        self._commands[key] = handler

    def tell(self, event: str, **fields: Any) -> None:
        """An event for both sides: emitted here (naming the peer) and sent to the peer as a
        control message of the same name."""
        self.emit(event, peer=self.peer_name, **fields)
        self.ctl.send({"t": event, **fields})

    def add_permission(self, name: str, grant: Toggle, revoke: Toggle) -> None:
        """A permission the host can give and take back later with {"grant": name} and
        {"revoke": name}; the feature that owns it does the work and tells the peer."""
        self._permissions[name] = (grant, revoke)
        self._commands["grant"] = self._grant_command
        self._commands["revoke"] = self._revoke_command

    def has_permission(self, name: str) -> bool:
        """Whether a feature can grant `name` later (the TUI offers only what is wired)."""
        return name in self._permissions

    def has_command(self, key: str) -> bool:
        """Whether a feature handles this command (the TUI shows only what is wired)."""
        return key in self._commands

    async def start(self) -> None:
        # What pairing decided; features tell of later changes (annotate, control) in their own events.
        granted = sorted(self.granted)
        for feature in self.features:
            await feature.start(self)
        self.ctl.start()
        self.emit("connected", peer=self.peer_name, role=self.role, granted=granted,
                  route=self.peer.route())

    async def run(self) -> str:
        """Until the session ends; returns why, or raises ConnectionLost."""
        beat = asyncio.ensure_future(self._heartbeat())
        try:
            return await asyncio.shield(self._ended)
        finally:
            beat.cancel()
            self._closing = True  # tearing down ourselves: the peer connection closing is no loss
            for feature in reversed(self.features):
                with contextlib.suppress(Exception):
                    await feature.stop()
            await self.peer.close()

    def chat(self, text: str) -> None:
        text = text[:MAX_CHAT]
        self.ctl.send({"t": "chat", "text": text})
        self.emit("chat", **{"from": "me", "text": text})

    async def handle_command(self, cmd: Any) -> None:
        """One stdin command (a JSON object); a refusal becomes an `error` event."""
        try:
            if not isinstance(cmd, dict) or not cmd:
                raise CommandError("a command is a JSON object such as {\"chat\": \"hello\"}")
            keys = [k for k in cmd if k in self._commands]
            if not keys:
                raise CommandError(f"unknown command {next(iter(cmd))!r}; known: {', '.join(sorted(self._commands))}")
            if len(keys) > 1:  # doing one and dropping the other would be half-done
                raise CommandError(f"one command per line: this one has {' and '.join(map(repr, keys))}; "
                                   "nothing was done")
            result = self._commands[keys[0]](cmd)
            if asyncio.iscoroutine(result):
                await result
        except RassistError as exc:
            self.emit("error", kind=exc.kind, message=exc.message)

    async def close(self, reason: str = "quit") -> None:
        """Tell the peer and end; safe to call more than once."""
        if self._ended.done() or self._closing:
            return
        self._closing = True  # the peer may hang up first once it has our bye: that is fine
        for hook in self.before_bye:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hook(), 1.5)  # the TUI gives close() 2 s
        self.ctl.send({"t": "bye", "reason": reason})
        # aiortc sends asynchronously: give the bye a moment to leave before tearing down.
        for _ in range(20):
            if self.ctl.dc.bufferedAmount == 0:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        self._end(reason)

    def outcome(self) -> str | None:
        """Why the session ended (its reason, or the error's kind), or None while it runs."""
        if not self._ended.done():
            return None
        error = self._ended.exception()
        return getattr(error, "kind", "error") if error is not None else self._ended.result()

    def _end(self, outcome: str | Exception) -> None:
        if self._ended.done():
            return
        if isinstance(outcome, Exception):
            self._ended.set_exception(outcome)
        else:
            self._ended.set_result(outcome)

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
                self._end(ConnectionLost(f"{self.peer_name} stopped answering for {self.peer_timeout:g} s"))
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
        self.emit("chat", **{"from": self.peer_name, "text": text[:MAX_CHAT]})

    def _on_bye(self, msg: dict[str, Any]) -> None:
        self._closing = True
        self._end(msg["reason"] if msg.get("reason") in BYE_REASONS else "peer-left")

    def _chat_command(self, cmd: dict[str, Any]) -> None:
        if not isinstance(cmd["chat"], str) or not cmd["chat"]:
            raise CommandError("chat takes a non-empty string")
        self.chat(cmd["chat"])

    def _permission(self, cmd: dict[str, Any], key: str) -> tuple[str, tuple[Toggle, Toggle]]:
        name = cmd[key]
        if name is True:  # a bare "/grant" or "/revoke" in plain mode means control
            name = "control" if "control" in self._permissions else next(iter(self._permissions))
        if not isinstance(name, str) or name not in self._permissions:
            known = " or ".join(f'"{p}"' for p in self._permissions)
            raise CommandError(f'{key} takes {known}, as in {{"{key}": "{next(iter(self._permissions))}"}}')
        return name, self._permissions[name]

    async def _grant_command(self, cmd: dict[str, Any]) -> None:
        _, (grant, _) = self._permission(cmd, "grant")
        await grant()

    async def _revoke_command(self, cmd: dict[str, Any]) -> None:
        name, (_, revoke) = self._permission(cmd, "revoke")
        if name not in self.granted:
            raise CommandError(f"{name} is not granted")
        await revoke()

    async def _quit_command(self, cmd: dict[str, Any]) -> None:
        await self.close("quit")
