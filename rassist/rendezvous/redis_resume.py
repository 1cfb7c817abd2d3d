"""The part of RedisHub that lets a connection outlive its node: resume tokens, relaying
through numbered frames, and replaying those a resumed connection has not had. The Redis side
(keys and Lua scripts) is in redis_queue.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from typing import Any

from rassist.protocol.rendezvous_resume import number
from rassist.rendezvous.hub import Deliver, ResumeRefused
from rassist.rendezvous.redis_queue import Queues

log = logging.getLogger("rassist.server")
P = "rassist:"


class Resuming:
    """Mixed into RedisHub, whose attributes these are."""

    redis: Any
    queues: Queues
    _deliver: Deliver
    _ids: dict[Hashable, str]
    _local: dict[str, Any]
    _tasks: list[asyncio.Task[None]]

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def relay(self, conn: Hashable, frame: str) -> bool:
        cid = self._ids.get(conn)
        return cid is not None and await self._call(self.queues.relay, cid, frame)

    async def resumable(self, conn: Hashable, key: str) -> str | None:
        cid = self._ids[conn]
        me = self._local[cid]
        if me.token:
            await self._call(self.redis.delete, P + "rs:" + me.token)
        me.token = await self._call(self.queues.issue, cid, key, me.ip)
        return me.token

    async def resume(self, conn: Hashable, token: str, secret: str, key: str, have: int,
                     nameplate: str, was: str) -> tuple[str, str, int]:
        """This fresh connection takes the place of the one `token` names: (token, state, got).
        ResumeRefused if it cannot. Call replay() once the client is told."""
        cid = self._ids[conn]
        me = self._local[cid]
        if me.token or me.open or me.awaited or me.partner or me.pumping:
            raise ResumeRefused("only a fresh connection resumes another")
        me.pumping = True  # frames published to it from now on wait for replay()
        try:
            fresh, state, got, partner = await self._call(self.queues.resume, token, secret, cid, key, me.ip,
                                                          nameplate, was, have)
        except (ResumeRefused, ConnectionError):
            me.pumping = False
            raise
        me.token, me.sent, me.partner = fresh, have, partner
        if state == "open":
            me.open = nameplate
        elif state == "awaiting":
            me.awaited = nameplate
        return fresh, state, got

    def replay(self, conn: Hashable) -> None:
        """Send a resumed connection the numbered frames it has not had."""
        cid = self._ids.get(conn)
        if cid is not None:
            self._spawn(self._pump(cid, self._local[cid]))

    def _spawn(self, work: Any) -> None:
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.ensure_future(work))

    async def _numbered(self, cid: str, local: Any, n: int, frame: str) -> None:
        if local.pumping:
            local.dirty = True
        elif n == local.sent + 1:
            local.sent = n
            await self._deliver(local.ws, number(frame, n))
        elif n > local.sent + 1:  # an earlier one is still on its way: take them from Redis
            local.pumping = True
            self._spawn(self._pump(cid, local))

    async def _pump(self, cid: str, local: Any) -> None:
        """Numbered frames from Redis, in order, each once; a gap means they expired."""
        local.pumping = True
        try:
            while True:
                local.dirty = False
                for n, frame in await self.queues.entries(cid):
                    if n > local.sent + 1:
                        log.info("frames for %s expired before they were delivered", cid)
                        local.ws.transport.abort()
                        return
                    if n == local.sent + 1:
                        local.sent = n
                        await self._deliver(local.ws, number(frame, n))
                if not local.dirty:
                    return
        except Exception as exc:  # noqa: BLE001 - Redis went away: the client resumes elsewhere
            log.warning("cluster: replay for %s: %s", cid, exc)
            local.ws.transport.abort()
        finally:
            local.pumping = False

    def _detach(self, what: str, cid: str) -> None:
        """Our connection `cid` was resumed elsewhere (we missed that it had gone): drop it."""
        local = self._local.get(cid) if what == "detach" else None
        if local is not None:
            local.partner = local.open = local.awaited = local.token = ""
            local.ws.transport.abort()
