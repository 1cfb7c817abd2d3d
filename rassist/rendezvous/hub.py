"""Where connections meet: the state a rendezvous server shares between its connections.

The server (server.py) speaks the wire protocol to its own websockets; a Hub decides who holds
which nameplate, who is paired with whom, how many connections and messages an address may
have, and carries frames to a connection wherever it is. LocalHub keeps all of it in this
process (the default, and the embedded server); RedisHub (redis_hub.py) keeps it in Redis so
that several server nodes serve one code space.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol

from rassist.protocol.ratelimit import TokenBucket
from rassist.rendezvous.rooms import Rooms

Conn = Hashable
Deliver = Callable[[Conn, str], Awaitable[None]]  # send a text frame to a local connection


class ResumeRefused(Exception):
    """A resume that cannot be: no such token, the wrong secret, too late, or state lost."""


class Hub(Protocol):
    async def start(self) -> None:
        """Before the first connection (a cluster node announces itself)."""

    async def close(self) -> None:
        """After the last."""

    async def admit(self, conn: Conn, ip: str) -> bool:
        """Take a new connection from `ip`; False past the per-address cap."""

    async def release(self, conn: Conn) -> Conn | None:
        """Forget `conn`'s nameplate, wait and pairing; returns the partner to tell."""

    async def leave(self, conn: Conn, ip: str) -> Conn | None:
        """The connection is gone: release() it and stop counting it against its address."""

    async def allow(self, ip: str) -> bool:
        """One more message from `ip`, if its address is under its message rate."""

    async def allocate(self, host: Conn, wanted: str | None) -> tuple[str, Conn | None]:
        """A nameplate for `host` (NameplateTaken if `wanted` is held), and the joiner that
        waited for it, now paired, if any. Burns any nameplate `host` had."""

    async def claim(self, nameplate: str, joiner: Conn, wait: bool) -> Conn | None:
        """The host now paired with `joiner`, or None if the joiner waits for it (`wait`).
        NoSuchNameplate if there is no such host (the one guess is spent)."""

    async def meet(self, conn: Conn, mailbox: str) -> Conn | None:
        """The connection that waited at `mailbox`, now paired with `conn`, or None if `conn`
        waits there first. MailboxBusy if `conn` is paired or waiting already."""

    async def unmeet(self, conn: Conn, mailbox: str) -> bool:
        """Stop `conn` waiting at `mailbox`; False if it no longer waits there."""

    async def partner(self, conn: Conn) -> Conn | None:
        """Whom `conn` is paired with, if anyone."""

    async def deliver(self, conn: Conn, frame: str) -> None:
        """Send `frame` to `conn`, on this node or another."""

    def stats(self) -> dict[str, float]:
        """Gauges for /metrics: this node's view."""

    async def relay(self, conn: Conn, frame: str) -> bool:
        """Deliver a "message" frame to `conn`'s partner; False if it has none."""

    async def resumable(self, conn: Conn, key: str) -> str | None:
        """A resume token for `conn`, bound to `key` (the hash of the client's secret); None
        where connections cannot be resumed."""

    async def resume(self, conn: Conn, token: str, secret: str, key: str, have: int,
                     nameplate: str, was: str) -> tuple[str, str, int]:
        """Fresh `conn` takes the place of the connection `token` names: its new token, its
        state and how many sends were taken from it. ResumeRefused if it cannot."""

    def replay(self, conn: Conn) -> None:
        """After resume(): send the frames the client has not had."""


class LocalHub:
    """Everything in this process: Rooms for nameplates and pairs, counters in dicts."""

    def __init__(self, deliver: Deliver, connections_per_ip: int, messages_per_ip: float,
                 random_nameplates: bool = False) -> None:
        self._deliver = deliver
        self.rooms = Rooms(random_nameplates=random_nameplates)
        self.connections_per_ip = connections_per_ip
        self.messages_per_ip = messages_per_ip
        self._per_ip: dict[str, int] = {}
        self._rates: dict[str, TokenBucket] = {}

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def admit(self, conn: Conn, ip: str) -> bool:
        if self._per_ip.get(ip, 0) >= self.connections_per_ip:
            return False
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        return True

    async def release(self, conn: Conn) -> Conn | None:
        return self.rooms.release(conn)

    async def leave(self, conn: Conn, ip: str) -> Conn | None:
        self._per_ip[ip] -= 1
        if not self._per_ip[ip]:
            del self._per_ip[ip]
            self._rates.pop(ip, None)
        return self.rooms.release(conn)

    async def allow(self, ip: str) -> bool:
        bucket = self._rates.get(ip)
        if bucket is None:
            bucket = self._rates[ip] = TokenBucket(self.messages_per_ip, 2 * self.messages_per_ip)
        return bucket.allow(time.monotonic())

    async def allocate(self, host: Conn, wanted: str | None) -> tuple[str, Conn | None]:
        nameplate = self.rooms.allocate(host, wanted)
        return nameplate, self.rooms.partner.get(host)

    async def claim(self, nameplate: str, joiner: Conn, wait: bool) -> Conn | None:
        return self.rooms.claim(nameplate, joiner, wait)

    async def meet(self, conn: Conn, mailbox: str) -> Conn | None:
        return self.rooms.meet(mailbox, conn)

    async def unmeet(self, conn: Conn, mailbox: str) -> bool:
        return self.rooms.unmeet(conn, mailbox)

    async def partner(self, conn: Conn) -> Conn | None:
        return self.rooms.partner.get(conn)

    async def deliver(self, conn: Conn, frame: str) -> None:
        await self._deliver(conn, frame)

    async def relay(self, conn: Conn, frame: str) -> bool:
        partner = self.rooms.partner.get(conn)
        if partner is not None:
            await self._deliver(partner, frame)
        return partner is not None

    async def resumable(self, conn: Conn, key: str) -> str | None:
        return None  # one process: when it dies, everything it knew goes with it

    async def resume(self, conn: Conn, token: str, secret: str, key: str, have: int,
                     nameplate: str, was: str) -> tuple[str, str, int]:
        raise ResumeRefused("this server does not resume connections (no --redis)")

    def replay(self, conn: Conn) -> None:
        pass

    def stats(self) -> dict[str, float]:
        return {"waiting_hosts": len(self.rooms.open), "waiting_joiners": len(self.rooms.waiting),
                "paired": len(self.rooms.partner) // 2,
                "connections": sum(self._per_ip.values())}
