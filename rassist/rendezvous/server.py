"""The rendezvous server: pairs a host and a joiner by nameplate and relays opaque bodies.

It logs one line per pairing and never a body: bodies are SPAKE2 messages or sealed blobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from rassist.protocol import rendezvous as wire
from rassist.protocol.ratelimit import TokenBucket
from rassist.rendezvous.hub import Conn, Hub, LocalHub, ResumeRefused
from rassist.rendezvous.metrics import Metrics
from rassist.rendezvous.rooms import MailboxBusy, NameplateTaken, NoSuchNameplate
from rassist.rendezvous.stun_server import stun_urls
from rassist.rendezvous.turn import TurnConfig

log = logging.getLogger("rassist.server")
# A reader that lets this much pile up toward it is dropped: a stalled peer must not grow the
# server. Incoming, websockets stops reading a connection after MAX_QUEUE unread frames.
MAX_BUFFERED = 256 * 1024
MAX_QUEUE = 4
MEET_WAIT = 150.0  # seconds a side may wait at a resume mailbox (a resume window, and then some)


@dataclass
class Limits:
    messages_per_second: float = 20.0   # per connection
    burst: float = 60.0
    connections_per_ip: int = 64
    messages_per_ip: float = 400.0      # per second, all of an address's connections together


@dataclass
class RendezvousServer:
    random_nameplates: bool = False
    limits: Limits = field(default_factory=Limits)
    turn: TurnConfig | None = None
    stun_ports: list[int] = field(default_factory=list)  # where our STUN responder answers
    public_host: str | None = None  # the host clients should use for STUN, if not the one they dialled
    redis: str | None = None        # a Redis URL: share nameplates and limits with other nodes
    metrics_path: bool = False      # answer GET /metrics (Prometheus text) on the same port
    resume_window: float = 15.0     # with redis: how long a dead node's connections may resume elsewhere
    meet_wait: float = MEET_WAIT
    _meet_timers: dict[Conn, asyncio.TimerHandle] = field(default_factory=dict, init=False, repr=False)
    hub: Hub = field(init=False)
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        if self.redis:
            from rassist.rendezvous.redis_hub import RedisHub

            self.hub = RedisHub(self.redis, _send, self.limits.connections_per_ip, self.limits.messages_per_ip,
                                self.resume_window)
        else:
            self.hub = LocalHub(_send, self.limits.connections_per_ip, self.limits.messages_per_ip,
                                self.random_nameplates)

    @property
    def node(self) -> str:
        return getattr(self.hub, "node", "local")

    async def start(self, host: str, port: int) -> Server:
        await self.hub.start()
        # write_limit above MAX_BUFFERED: send() never waits for a slow reader (which would
        # stall the sender's loop and queue its frames here); _send drops the reader instead.
        return await serve(self.handle, host, port, max_size=wire.MAX_FRAME, max_queue=MAX_QUEUE,
                           write_limit=2 * MAX_BUFFERED, ping_interval=20, ping_timeout=20,
                           compression=None, process_request=self._http if self.metrics_path else None)

    async def close(self) -> None:
        for timer in self._meet_timers.values():
            timer.cancel()
        await self.hub.close()

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP on the websocket port: GET /metrics; everything else is the websocket."""
        if request.path.split("?", 1)[0] != "/metrics":
            return None
        response = connection.respond(HTTPStatus.OK, self.metrics.render(self.node, self.hub.stats()))
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response

    async def handle(self, ws: ServerConnection) -> None:
        ip = _ip(ws)
        try:
            admitted = await self.hub.admit(ws, ip)
        except ConnectionError as exc:
            await _close(ws, str(exc)[:100], 1011)
            return
        if not admitted:
            self.metrics.refused += 1
            await _close(ws, "too many connections from this address")
            return
        bucket = TokenBucket(self.limits.messages_per_second, self.limits.burst)
        refusal, code = None, 1008
        try:
            async for frame in ws:
                if not bucket.allow(time.monotonic()) or not await self.hub.allow(ip):
                    refusal = "rate limit exceeded"
                    break
                try:
                    await self._dispatch(ws, wire.decode(frame, wire.CLIENT_OPS))
                except wire.WireError as exc:
                    refusal = str(exc)[:100]
                    break
        except ConnectionClosed:
            pass
        except ConnectionError as exc:  # the hub's storage (Redis) went away
            refusal, code = str(exc)[:100], 1011
        finally:
            timer = self._meet_timers.pop(ws, None)
            if timer is not None:
                timer.cancel()
            with contextlib.suppress(ConnectionError):
                await self._tell_partner(await self.hub.leave(ws, ip))
        if refusal is not None:
            self.metrics.refused += code == 1008
            # Closing from inside the read loop can stall on a client that floods; close after it.
            await _close(ws, refusal, code)

    async def _tell_partner(self, partner: Conn | None) -> None:
        if partner is not None:
            await self.hub.deliver(partner, wire.encode("peer-gone"))

    async def _dispatch(self, ws: ServerConnection, msg: dict) -> None:
        op = msg["op"]
        if "key" in msg and op in ("allocate", "claim"):
            await self._resumable(ws, msg["key"])
        if op == "ping":
            await _send(ws, wire.encode("pong"))
        elif op == "turn":
            servers = [self.turn.credentials(time.time())] if self.turn else []
            stun = stun_urls(ws.request.headers.get("Host") if ws.request else None, self.public_host,
                             self.stun_ports)
            servers = ([{"urls": stun}] if stun else []) + servers
            await _send(ws, wire.encode("turn", servers=servers))
        elif op == "allocate":
            await self._tell_partner(await self.hub.release(ws))
            try:
                nameplate, joiner = await self.hub.allocate(ws, msg.get("nameplate"))
            except NameplateTaken:
                await _send(ws, wire.encode("error", kind="nameplate-taken",
                                            message=f"nameplate {msg['nameplate']} is in use"))
                return
            await _send(ws, wire.encode("allocated", nameplate=nameplate))
            if joiner is not None:  # a joiner was waiting for this preset nameplate
                await self._paired(nameplate, ws, joiner)
        elif op == "claim":
            if "body" in msg:
                wire.unpack_body(msg["body"])  # reject non-base64 before anything is claimed
            try:
                host = await self.hub.claim(msg["nameplate"], ws, msg.get("wait") is True)
            except NoSuchNameplate as exc:
                self.metrics.failed_claims += 1
                why = ("was used a moment ago: a code works once, and a wrong guess burns it; "
                       "ask for the new code" if exc.used else
                       "has nobody waiting (wrong code, already used, or expired)")
                await _send(ws, wire.encode(
                    "error", kind="unknown-nameplate", message=f"code number {msg['nameplate'][:12]} {why}"))
                return
            if host is None:  # waits for a host with this preset nameplate (its body is dropped)
                await _send(ws, wire.encode("waiting"))
                return
            await self._paired(msg["nameplate"], host, ws, body=msg.get("body"))
        elif op == "meet":
            await self._meet(ws, msg["mailbox"])
        elif op == "send":
            wire.unpack_body(msg["body"])  # reject non-base64 before relaying
            # No partner: the peer just left (it is told peer-gone) or a failed attempt's last
            # words, such as a sealed abort, arrive after it; nobody is left to hear them.
            if await self.hub.relay(ws, wire.encode("message", body=msg["body"])):
                self.metrics.relayed_bytes += len(msg["body"])
        elif op == "resume":
            await self._resume(ws, msg)

    async def _resumable(self, ws: ServerConnection, key: str) -> None:
        """A token for later, before the reply (protocol/rendezvous_resume.py); none without Redis."""
        token = await self.hub.resumable(ws, key)
        if token is not None:
            await _send(ws, wire.encode("resumable", token=token))

    async def _resume(self, ws: ServerConnection, msg: dict) -> None:
        """A connection that comes back, from a node that died (protocol/rendezvous_resume.py)."""
        try:
            token, state, got = await self.hub.resume(ws, msg["token"], msg["secret"], msg["key"], msg["have"],
                                                      msg.get("nameplate", ""), msg.get("was", ""))
        except ResumeRefused as exc:
            self.metrics.refused_resumes += 1
            await _send(ws, wire.encode("error", kind="resume-refused", message=str(exc)[:200]))
            return
        self.metrics.resumes += 1
        log.info("resumed a connection from %s (%s)", _ip(ws), state)
        await _send(ws, wire.encode("resumed", token=token, state=state, got=got))
        self.hub.replay(ws)

    async def _meet(self, ws: ServerConnection, mailbox: str) -> None:
        """Resume: the first side at a mailbox waits (at most meet_wait), the second pairs with it.
        The log never names the mailbox: it is the one thing that could link two resumes."""
        try:
            other = await self.hub.meet(ws, mailbox)
        except MailboxBusy:
            await _send(ws, wire.encode("error", kind="mailbox-busy",
                                        message="this connection is paired or waiting already"))
            return
        if other is None:
            await _send(ws, wire.encode("waiting"))
            self._meet_timers[ws] = asyncio.get_running_loop().call_later(
                self.meet_wait, _background, self._meet_expired, ws, mailbox)
            return
        timer = self._meet_timers.pop(other, None)
        if timer is not None:
            timer.cancel()
        self.metrics.paired()
        log.info("met at a resume mailbox: %s and %s", _describe(other), _describe(ws))
        await self.hub.deliver(other, wire.encode("met"))
        await _send(ws, wire.encode("met"))

    async def _meet_expired(self, ws: ServerConnection, mailbox: str) -> None:
        self._meet_timers.pop(ws, None)
        with contextlib.suppress(ConnectionError):
            if await self.hub.unmeet(ws, mailbox):
                await _send(ws, wire.encode("error", kind="meet-expired",
                                            message=f"nobody came to this mailbox within {self.meet_wait:g} s"))

    async def _paired(self, nameplate: str, host: Conn, joiner: Conn, body: str | None = None) -> None:
        """Tell both; a claim's `body` (the joiner's first message) follows "joined" to the host.
        It is delivered, not relayed: a relay counts as one of the joiner's numbered sends, which
        this is not (a resumed joiner would take the count for its own and lose a send)."""
        self.metrics.paired()
        log.info("paired nameplate %s: host %s, joiner %s", nameplate, _describe(host), _describe(joiner))
        await self.hub.deliver(host, wire.encode("joined"))
        if body is not None:
            await self.hub.deliver(host, wire.encode("message", body=body))
            self.metrics.relayed_bytes += len(body)
        await self.hub.deliver(joiner, wire.encode("claimed", **({"took": True} if body is not None else {})))


_running: set[asyncio.Task[None]] = set()


def _background(work: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    task = asyncio.ensure_future(work(*args))
    _running.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_running.discard)


def _describe(conn: Conn) -> str:
    """A connection for the log: its address here, its cluster id on another node."""
    return _ip(conn) if isinstance(conn, ServerConnection) else str(conn)


def _ip(ws: ServerConnection) -> str:
    return str(ws.remote_address[0]) if ws.remote_address else "?"


async def _close(ws: ServerConnection, reason: str, code: int = 1008) -> None:
    try:
        await asyncio.wait_for(ws.close(code, reason), 2)
    except (TimeoutError, ConnectionClosed):
        ws.transport.abort()  # a client that will not read its close frame is cut off


async def _send(ws: ServerConnection, frame: str) -> None:
    if ws.transport.get_write_buffer_size() + len(frame) > MAX_BUFFERED:
        if not ws.transport.is_closing():
            log.info("dropped a connection that stopped reading (%d KiB queued toward it)",
                     MAX_BUFFERED // 1024)
            ws.transport.abort()  # its handler ends and its partner is told peer-gone
        return
    try:
        await ws.send(frame)
    except ConnectionClosed:
        pass

