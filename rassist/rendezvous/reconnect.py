"""Taking a rendezvous connection's place again after its node died (rassist server --redis).

The client keeps what a resume needs: the server's token and the secret it is bound to, how
many numbered frames it has received (the server replays the later ones), the sends it made
(the server says how many it took; the later ones are sent again), the request still waiting
for its reply, and what it believes it holds (a nameplate open or awaited, a pairing). The
protocol is in protocol/rendezvous_resume.py.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import deque
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException

from rassist.errors import ConnectionLost, Unreachable, UsageError
from rassist.protocol import rendezvous as wire
from rassist.protocol import rendezvous_resume as rr

RESUME_WINDOW = 15.0  # how long a client tries to come back (the servers' default window)
CONNECT_EACH = 2.0    # a node that does not answer within this is skipped for the next
MAX_UNACKED = 32      # sends kept for sending again; signalling is a handful of messages
REPLIES = {"allocate": {"allocated", "error"}, "claim": {"waiting", "claimed", "error"},
           "turn": {"turn"}, "ping": {"pong"}}
FINAL_CODES = (1000, 1008)  # a normal close, or the server refused us: nothing to resume


def system_proxy() -> Literal[True] | None:
    """What websockets is told of proxies: True (look them up: its default) unless this is sure
    there are none. Where proxies come only from the environment (not macOS or Windows) and no
    variable names one, the lookup would find none, and it would import urllib.request (with
    http.client and email: ~13 ms of a join's start-up) to say so."""
    if sys.platform in ("darwin", "win32") or any(name.lower().endswith("_proxy") for name in os.environ):
        return True
    return None


async def open_ws(url: str, timeout: float) -> ClientConnection:
    try:
        return await asyncio.wait_for(
            connect(url, max_size=wire.MAX_FRAME, open_timeout=None, compression=None,
                    ping_interval=20, ping_timeout=20, proxy=system_proxy()), timeout)
    except InvalidURI as exc:
        raise UsageError(f"bad server URL {url!r}: {exc}") from None
    except (OSError, TimeoutError, WebSocketException) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        raise Unreachable(f"cannot reach the rendezvous server at {url}: {reason}") from None


class Resumption:
    def __init__(self, url: str, urls: list[str]) -> None:
        self.url = url
        self.urls = urls
        self.secret = ""
        self.token = ""
        self.have = 0                  # numbered frames received
        self.up = 0                    # sends made
        self.sends: deque[tuple[int, str]] = deque()
        self.request: tuple[str, str] | None = None  # (op, frame) still waiting for its reply
        self.holds = ""                # the nameplate we hold open or await
        self.was = ""                  # "open", "awaiting", "paired" or ""
        self.skip: set[str] = set()    # made up after a resume: the real one, if it comes, is dropped
        self.inbox: deque[dict[str, Any]] = deque()
        self.closing = False
        self.count = 0                 # resumes so far
        self.flushed = 0               # sends up to this one were dealt with by the last resume
        self.reconciled: object = None  # the request the last resume dealt with

    def key(self) -> dict[str, str]:
        """The key field for an allocate or claim, until the server has given us a token."""
        if self.token:
            return {}
        self.secret = self.secret or rr.new_secret()
        return {"key": rr.verifier(self.secret)}

    def sending(self, op: str, fields: dict[str, Any]) -> str:
        frame = wire.encode(op, **fields)
        if op in REPLIES:  # sent again after a resume, with no key: we have a token by then
            self.request = (op, wire.encode(op, **{k: v for k, v in fields.items() if k != "key"}))
        if op in ("allocate", "claim"):  # the server forgets what we held before
            self.holds, self.was = str(fields.get("nameplate", "")), ""
            self.skip.clear()
        elif op == "send":
            self.up += 1
            self.sends.append((self.up, frame))
            if len(self.sends) > MAX_UNACKED:
                self.sends.popleft()
        return frame

    def mark(self, op: str) -> object:
        """What identifies a frame just booked by sending(), for missed()."""
        return self.up if op == "send" else self.request if op in REPLIES else None

    def missed(self, op: str, mark: object) -> bool:
        """Whether the frame `mark` names was booked too late for the resume that just ran."""
        if op == "send":
            return isinstance(mark, int) and mark > self.flushed
        return mark is not None and self.request is mark and self.reconciled is not mark

    def received(self, msg: dict[str, Any]) -> bool:
        """Book-keeping for a frame from the server; False if the caller must not see it."""
        n = msg.get("n")
        if n is not None:
            if n <= self.have:
                return False  # had it before the resume
            self.have = n
        op = msg["op"]
        if op == "resumable":
            self.token = msg["token"]
            return False
        if op == "resumed" or op in self.skip:
            self.skip.discard(op)
            return False
        self._track(msg)
        return True

    def made_up(self) -> dict[str, Any] | None:
        if not self.inbox:
            return None
        msg = self.inbox.popleft()
        self._track(msg)
        return msg

    def possible(self, code: int | None) -> bool:
        return not self.closing and bool(self.token) and code not in FINAL_CODES

    async def run(self, why: str) -> tuple[ClientConnection, str]:
        """A live node, with our place taken back: (its connection, its URL)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESUME_WINDOW
        # One URL: itself again (a balancer or DNS finds a live node); several: the next first.
        start = self.urls.index(self.url) if self.url in self.urls else -1
        order = [self.urls[(start + 1 + i) % len(self.urls)] for i in range(len(self.urls))]
        tries, last = 0, ""
        while (left := deadline - loop.time()) > 0:
            url = order[tries % len(order)]
            tries += 1
            try:
                ws = await open_ws(url, min(CONNECT_EACH, left))
                await self._take_place(ws, why, deadline - loop.time())
            except (Unreachable, ConnectionClosed, TimeoutError) as exc:
                last = getattr(exc, "message", "") or "the node went away while resuming"
                if tries % len(order) == 0:
                    await asyncio.sleep(min(0.5, max(0.0, deadline - loop.time())))
                continue
            self.url = url
            return ws, url
        raise ConnectionLost(f"{why}, and no other node took the connection over within "
                             f"{RESUME_WINDOW:g} s ({last})")

    async def _take_place(self, ws: ClientConnection, why: str, left: float) -> None:
        secret = rr.new_secret()
        await ws.send(wire.encode("resume", token=self.token, secret=self.secret, key=rr.verifier(secret),
                                  have=self.have, was=self.was, **({"nameplate": self.holds} if self.holds else {})))
        try:
            reply = wire.decode(await asyncio.wait_for(ws.recv(), max(left, 0.1)), {"resumed", "error"})
        except wire.WireError as exc:
            raise ConnectionLost(f"{why}; the node it came back to sent a bad frame: {exc}") from None
        if reply["op"] == "error":
            await ws.close()
            raise ConnectionLost(f"{why}, and it could not be resumed: {reply.get('message', 'refused')}")
        self.token, self.secret = reply["token"], secret
        self.count += 1
        got = reply["got"]
        if self.sends and got < self.sends[0][0] - 1:
            raise ConnectionLost(f"{why}, and messages sent before it cannot be sent again")
        again, self.flushed = [frame for i, frame in self.sends if i > got], self.up
        self.reconciled = self.request
        for frame in again:
            await ws.send(frame)
        await self._reconcile(ws, reply["state"])

    async def _reconcile(self, ws: ClientConnection, state: str) -> None:
        """The reply to a request the old node never gave, or the news it never passed on."""
        if self.request is not None:
            op, frame = self.request
            if op == "claim" and state in ("paired", "awaiting"):
                self._make_up("claimed" if state == "paired" else "waiting")
            else:
                await ws.send(frame)  # allocate burns any nameplate it had; turn and ping are harmless
        elif state == "paired" and self.was in ("open", "awaiting"):
            self._make_up("joined" if self.was == "open" else "claimed")

    def _make_up(self, op: str) -> None:
        self.inbox.append({"op": op})
        if op != "waiting":
            self.skip.add(op)

    def _track(self, msg: dict[str, Any]) -> None:
        op = msg["op"]
        if self.request is not None and op in REPLIES[self.request[0]]:
            self.request = None
        if op == "allocated":
            self.holds, self.was = str(msg["nameplate"]), "open"
        elif op == "waiting":
            self.was = "awaiting"
        elif op in ("claimed", "joined"):
            self.was = "paired"
        elif op == "peer-gone":
            self.holds, self.was = "", ""
