"""The client side of the rendezvous protocol: the one module that talks to the server.

Against a cluster (rassist server --redis) a connection survives its node: the server hands out
a resume token, and when the connection drops the client reconnects (to the same URL, which a
load balancer or DNS sends to a live node, or to the next of several URLs) and takes its place
again within RESUME_WINDOW. What it had not received is replayed, what the server had not
taken is sent again (reconnect.py), and whoever called recv() or send() never notices."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from rassist.errors import AuthError, ConnectionLost, TimedOut, Unreachable, UsageError
from rassist.protocol import rendezvous as wire
from rassist.rendezvous.reconnect import Resumption, open_ws

SERVER_OPS = frozenset({"allocated", "waiting", "claimed", "joined", "met", "message", "peer-gone", "pong", "turn",
                        "error", "resumable", "resumed"})


MAX_EARLY = 8


class PeerGone(Exception):
    """The other side left the rendezvous before pairing finished."""


class RendezvousClient:
    def __init__(self, ws: ClientConnection, url: str, urls: list[str] | None = None) -> None:
        self._ws = ws
        self.url = url
        # Peer messages that arrived while we waited for a reply of the server's own (in a
        # cluster the host's first message may overtake our "claimed").
        self._early: deque[dict[str, Any]] = deque()
        self._turn: dict[str, Any] | None = None  # an answer to ask_turn(), kept for turn_servers()
        self.resume = Resumption(url, urls or [url])
        self._resuming: asyncio.Future[tuple[ClientConnection, str]] | None = None

    @classmethod
    async def connect(cls, url: str, timeout: float, urls: list[str] | None = None) -> RendezvousClient:
        """A connection to `url`; `urls` (all the nodes, `url` among them) are where a
        connection that drops is resumed."""
        return cls(await open_ws(url, timeout), url, urls)

    async def _send(self, op: str, **fields: Any) -> None:
        frame = self.resume.sending(op, fields)
        mark = self.resume.mark(op)
        while True:
            ws = self._ws
            try:
                await ws.send(frame)
                return
            except ConnectionClosed as exc:
                await self._lost(ws, exc, "closed the connection")
            # Resumed: the frame went again (or was answered) as part of it, unless that resume
            # had started before the frame was in its books.
            if not self.resume.missed(op, mark):
                return

    async def recv(self) -> dict[str, Any]:
        while True:
            made_up = self.resume.made_up()
            if made_up is not None:
                return made_up
            ws = self._ws
            try:
                frame = await ws.recv()
            except ConnectionClosed as exc:
                await self._lost(ws, exc, "went away")
                continue
            try:
                msg = wire.decode(frame, SERVER_OPS)
            except wire.WireError as exc:
                raise ConnectionLost(f"the rendezvous server sent a bad frame: {exc}") from None
            if self.resume.received(msg):
                return msg

    async def _lost(self, ws: ClientConnection, exc: ConnectionClosed, what: str) -> None:
        """Take our place back on a node that is alive, or raise ConnectionLost. One resume at a
        time, shielded: a caller that is cancelled (pairing stops listening) does not cut it
        short, and a concurrent send or recv waits for the same one."""
        if self._ws is not ws:
            return  # taken back already
        if self._resuming is None:
            code = exc.rcvd.code if exc.rcvd is not None else None
            why = f"the rendezvous server at {self.url} {what}"
            if exc.rcvd is not None and exc.rcvd.reason:
                why += f" ({exc.rcvd.reason})"
            if not self.resume.possible(code):
                raise ConnectionLost(why) from None
            self._resuming = asyncio.ensure_future(self.resume.run(why))
            self._resuming.add_done_callback(self._resumed)
        await asyncio.shield(self._resuming)

    def _resumed(self, task: asyncio.Future[tuple[ClientConnection, str]]) -> None:
        self._resuming = None
        if task.cancelled() or task.exception() is not None:
            self.resume.token = ""  # failed for good: the next caller hears so at once
            return
        self._ws, self.url = task.result()

    async def allocate(self, wanted: str | None = None) -> str:
        self._early.clear()  # a new attempt: nothing from an earlier peer may reach it
        await self._send("allocate", **({"nameplate": wanted} if wanted else {}), **self.resume.key())
        msg = await self.recv()
        # Passed over: what is left of an earlier attempt; kept: the answer to ask_turn().
        while msg["op"] in ("message", "peer-gone", "pong") or self._aside(msg):
            msg = await self.recv()
        if msg["op"] == "error" and msg.get("kind") == "nameplate-taken":
            raise UsageError(str(msg.get("message")))
        if msg["op"] != "allocated":
            raise ConnectionLost(f"unexpected reply from the rendezvous server: {msg['op']}")
        return str(msg["nameplate"])

    async def wait_joined(self, timeout: float | None = None) -> None:
        """Until a joiner claims our nameplate (at most `timeout` seconds, if given)."""
        try:
            await asyncio.wait_for(self._expect("joined"), timeout)
        except TimeoutError:
            raise TimedOut(f"nobody joined within {timeout:g} s (is the other side running, "
                           "with the same code?)") from None

    async def claim(self, nameplate: str, wait: float | None = None,
                    on_wait: Callable[[], None] | None = None, first: bytes | None = None) -> bool:
        """Pair with the host of `nameplate`. With `wait` (seconds), a host that has not
        arrived yet (a preset code) is awaited that long; `on_wait` is called if it must be.
        `first`, our first message, travels with the claim; True if the server passed it on (a
        claim that had to wait, or an older server, leaves it to us to send)."""
        body = {"body": wire.pack_body(first)} if first is not None else {}
        await self._send("claim", nameplate=nameplate, **({"wait": True} if wait else {}), **body,
                         **self.resume.key())
        msg = await self._reply()
        took = msg["op"] == "claimed" and msg.get("took") is True
        if msg["op"] == "waiting" and wait:
            if on_wait is not None:
                on_wait()
            try:
                msg = await asyncio.wait_for(self._reply(), wait)
            except TimeoutError:
                raise TimedOut(f"nobody with code number {nameplate} arrived within {wait:g} s "
                               "(check the code; is the other side running?)") from None
        if msg["op"] == "error" and msg.get("kind") == "unknown-nameplate":
            raise AuthError(str(msg.get("message", "unknown nameplate")))
        if msg["op"] != "claimed":
            raise ConnectionLost(f"unexpected reply from the rendezvous server: {msg['op']}")
        return took

    async def _reply(self) -> dict[str, Any]:
        """The next frame that is not a peer's message (kept for receive(): in a cluster the
        host's first message may overtake our "claimed")."""
        while True:
            msg = await self.recv()
            if self._aside(msg):
                continue
            if msg["op"] != "message":
                return msg
            if len(self._early) >= MAX_EARLY:
                raise ConnectionLost("the peer sent too many messages out of turn")
            self._early.append(msg)

    async def meet(self, mailbox: str, wait: float) -> None:
        """Resume: meet the other side of a session at `mailbox` (protocol/resume.py), waiting
        for it at most `wait` seconds (TimedOut). Then send()/receive() talk to it."""
        if not wire.is_mailbox(mailbox):
            raise UsageError("a mailbox is 64 lowercase hex digits")
        self._early.clear()
        await self._send("meet", mailbox=mailbox)
        try:
            msg = await asyncio.wait_for(self._reply_to_meet(), wait)
        except TimeoutError:
            raise TimedOut(f"the other side did not come to the resume mailbox within {wait:g} s") from None
        if msg["op"] == "error":
            if msg.get("kind") == "meet-expired":
                raise TimedOut(str(msg.get("message", "the resume mailbox expired")))
            raise ConnectionLost(f"rendezvous server error: {msg.get('message', msg.get('kind'))}")

    async def _reply_to_meet(self) -> dict[str, Any]:
        while True:
            msg = await self.recv()
            if msg["op"] in ("met", "error"):
                return msg
            # "waiting" (we are first), and pong or leftovers of an earlier pairing, are passed over

    async def ask_turn(self) -> None:
        """Ask for TURN servers now, for turn_servers() later. Asked just before an allocate or a
        claim, it costs no round trip of its own: the server answers it first, and the answer
        is kept while the other reply is awaited."""
        self._turn = None
        await self._send("turn")

    def _aside(self, msg: dict[str, Any]) -> bool:
        """Keep a TURN answer that came while another reply was awaited (ask_turn)."""
        if msg["op"] != "turn":
            return False
        self._turn = msg
        return True

    async def turn_servers(self) -> list[dict[str, Any]]:
        """TURN servers with fresh credentials, if the server hands them out (else empty): the
        answer to ask_turn() if it came, else asked now."""
        msg, self._turn = self._turn, None
        if msg is None:
            await self._send("turn")
            msg = await self._expect("turn")
        return wire.ice_servers(msg.get("servers"))

    async def ping(self, timeout: float) -> float:
        """Round-trip time to the server, in seconds."""
        started = asyncio.get_running_loop().time()
        await self._send("ping")
        try:
            await asyncio.wait_for(self._expect("pong"), timeout)
        except TimeoutError:
            raise ConnectionLost(f"the rendezvous server at {self.url} did not answer a ping") from None
        return asyncio.get_running_loop().time() - started

    async def send(self, data: bytes) -> None:
        await self._send("send", body=wire.pack_body(data))

    async def receive(self) -> bytes:
        msg = self._early.popleft() if self._early else await self._expect("message")
        try:
            return wire.unpack_body(msg["body"])
        except wire.WireError as exc:
            raise AuthError(f"signalling message damaged in transit: {exc}") from None

    async def _expect(self, op: str) -> dict[str, Any]:
        while True:
            msg = await self.recv()
            if msg["op"] == op:
                return msg
            if msg["op"] == "message":
                if len(self._early) >= MAX_EARLY:
                    raise ConnectionLost("the peer sent too many messages out of turn")
                self._early.append(msg)
                continue
            if msg["op"] == "peer-gone":
                raise PeerGone()
            if msg["op"] == "error":
                raise ConnectionLost(f"rendezvous server error: {msg.get('message', msg.get('kind'))}")
            self._aside(msg)  # pong and anything else unexpected are ignored

    async def close(self) -> None:
        self.resume.closing = True
        await self._ws.close()


async def connect_any(urls: list[str], timeout: float) -> RendezvousClient:
    """The first of `urls` that answers; the others are where a cluster connection resumes."""
    error: Unreachable | None = None
    for url in urls:
        try:
            return await RendezvousClient.connect(url, timeout, urls)
        except Unreachable as exc:
            error = exc
    raise error or Unreachable("no rendezvous server to connect to")
