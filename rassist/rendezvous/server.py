"""The rendezvous server: pairs a host and a joiner by nameplate and relays opaque bodies.

It logs one line per pairing and never a body: bodies are SPAKE2 messages or sealed blobs."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from rassist.protocol import rendezvous as wire
from rassist.protocol.ratelimit import TokenBucket
from rassist.rendezvous.rooms import NameplateTaken, NoSuchNameplate, Rooms
from rassist.rendezvous.turn import TurnConfig

log = logging.getLogger("rassist.server")


@dataclass
class Limits:
    messages_per_second: float = 20.0
    burst: float = 60.0
    connections_per_ip: int = 64


@dataclass
class RendezvousServer:
    random_nameplates: bool = False
    limits: Limits = field(default_factory=Limits)
    turn: TurnConfig | None = None
    rooms: Rooms = field(init=False)
    pairings: int = 0
    _per_ip: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rooms = Rooms(random_nameplates=self.random_nameplates)

    async def start(self, host: str, port: int) -> Server:
        return await serve(self.handle, host, port, max_size=wire.MAX_FRAME, max_queue=32,
                           ping_interval=20, ping_timeout=20, compression=None)

    async def handle(self, ws: ServerConnection) -> None:
        ip = str(ws.remote_address[0]) if ws.remote_address else "?"
        if self._per_ip.get(ip, 0) >= self.limits.connections_per_ip:
            await _close(ws, "too many connections from this address")
            return
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        bucket = TokenBucket(self.limits.messages_per_second, self.limits.burst)
        refusal = None
        try:
            async for frame in ws:
                if not bucket.allow(time.monotonic()):
                    refusal = "rate limit exceeded"
                    break
                try:
                    await self._dispatch(ws, wire.decode(frame, wire.CLIENT_OPS), ip)
                except wire.WireError as exc:
                    refusal = str(exc)[:100]
                    break
        except ConnectionClosed:
            pass
        finally:
            self._per_ip[ip] -= 1
            if not self._per_ip[ip]:
                del self._per_ip[ip]
            partner = self.rooms.release(ws)
            if partner is not None:
                await _send(partner, wire.encode("peer-gone"))
        if refusal is not None:
            # Closing from inside the read loop can stall on a client that floods; close after it.
            await _close(ws, refusal)

    async def _dispatch(self, ws: ServerConnection, msg: dict, ip: str) -> None:
        op = msg["op"]
        if op == "ping":
            await _send(ws, wire.encode("pong"))
        elif op == "turn":
            servers = [self.turn.credentials(time.time())] if self.turn else []
            await _send(ws, wire.encode("turn", servers=servers))
        elif op == "allocate":
            partner = self.rooms.release(ws)
            if partner is not None:
                await _send(partner, wire.encode("peer-gone"))
            try:
                nameplate = self.rooms.allocate(ws, msg.get("nameplate"))
            except NameplateTaken:
                await _send(ws, wire.encode("error", kind="nameplate-taken",
                                            message=f"nameplate {msg['nameplate']} is in use"))
                return
            await _send(ws, wire.encode("allocated", nameplate=nameplate))
        elif op == "claim":
            try:
                host = self.rooms.claim(msg["nameplate"], ws)
            except NoSuchNameplate:
                await _send(ws, wire.encode(
                    "error", kind="unknown-nameplate",
                    message=f"nobody is waiting on nameplate {msg['nameplate'][:12]} "
                            "(wrong code, already used, or expired)"))
                return
            self.pairings += 1
            host_ip = host.remote_address[0] if host.remote_address else "?"
            log.info("paired nameplate %s: host %s, joiner %s", msg["nameplate"], host_ip, ip)
            await _send(host, wire.encode("joined"))
            await _send(ws, wire.encode("claimed"))
        elif op == "send":
            wire.unpack_body(msg["body"])  # reject non-base64 before relaying
            partner = self.rooms.partner.get(ws)
            # No partner: the peer just left (it is told peer-gone) or a failed attempt's last
            # words, such as a sealed abort, arrive after it; nobody is left to hear them.
            if partner is not None:
                await _send(partner, wire.encode("message", body=msg["body"]))


async def _close(ws: ServerConnection, reason: str) -> None:
    try:
        await asyncio.wait_for(ws.close(1008, reason), 2)
    except (TimeoutError, ConnectionClosed):
        ws.transport.abort()  # a client that will not read its close frame is cut off


async def _send(ws: ServerConnection, frame: str) -> None:
    try:
        await ws.send(frame)
    except ConnectionClosed:
        pass

