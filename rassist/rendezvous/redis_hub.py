"""A Hub in Redis, so that any number of rendezvous nodes serve one code space.

What Redis holds here (all under "rassist:", all expiring; nameplates, connection ids and
counters; the sealed bodies kept for a resume are in redis_queue.py):
    np:N    the connection id of the host waiting on nameplate N      (refreshed while it waits)
    npw:N   the joiner waiting for a preset nameplate N
    npu:N   the host of nameplate N once paired (so a preset code is not handed out twice)
    sp:N    nameplate N was paired a moment ago: a late claim hears it was used (SPENT_KEEP)
    hu:ID   the nameplate host ID is paired under
    pt:ID   ID's partner
    mb:M    the connection waiting at resume mailbox M (64 hex digits; gone once two met there)
    node:X  node X is alive                                            (3 s, refreshed every second)
    seen:X  node X was alive less than the resume window ago
    ip:A    the live connections from address A (a sorted set scored by expiry)
    rate:A:S  messages from address A in second S
Connection ids are "NODE:N"; a frame for a connection on another node goes through the
Pub/Sub channel rassist:to:NODE. Each step that must be atomic across nodes (allocating a
nameplate, the one claim it allows, releasing) is one Lua script.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Hashable
from typing import Any

from rassist.protocol import rendezvous as wire
from rassist.rendezvous.hub import Deliver, ResumeRefused
from rassist.rendezvous.redis_queue import TOKEN_TTL, Queues
from rassist.rendezvous.redis_resume import Resuming
from rassist.rendezvous.rooms import SPENT_KEEP, MailboxBusy, NameplateTaken, NoSuchNameplate

log = logging.getLogger("rassist.server")
P = "rassist:"
NAMEPLATE_TTL = 180   # a waiting host's nameplate lives this long unless its node refreshes it
PAIR_TTL = 3600
NODE_TTL = 3
RESUME_WINDOW = 15.0  # a connection whose node died may resume on another node this long
BEAT = 1.0
REFRESH = 30.0        # how often nameplates and address counts are refreshed
CANDIDATES = 8        # random nameplates tried per allocation round
POOL = 32             # Redis connections per node
PEER_GONE = wire.encode("peer-gone")
JOINED = wire.encode("joined")
MET = wire.encode("met")
MEET_TTL = 180        # a waiting side's mailbox entry, if its node dies without removing it


class HubUnavailable(ConnectionError):
    """Redis cannot be reached: the server closes the connection with this reason."""


_ALLOCATE = """
-- ARGV: host id, pair ttl, nameplate ttl, 'wanted' N | 'any' candidate...
local P, host, ttl, npttl, mode = 'rassist:', ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if mode == 'wanted' then
  local n = ARGV[5]
  if redis.call('EXISTS', P..'np:'..n, P..'npu:'..n) > 0 then return {'taken'} end
  redis.call('DEL', P..'sp:'..n)  -- a preset code asks for this number again, knowingly
  local joiner = redis.call('GET', P..'npw:'..n)
  if joiner then
    redis.call('DEL', P..'npw:'..n)
    redis.call('SET', P..'npu:'..n, host, 'EX', ttl)
    redis.call('SET', P..'hu:'..host, n, 'EX', ttl)
    redis.call('SET', P..'pt:'..host, joiner, 'EX', ttl)
    redis.call('SET', P..'pt:'..joiner, host, 'EX', ttl)
    return {n, joiner}
  end
  redis.call('SET', P..'np:'..n, host, 'EX', npttl)
  return {n}
end
for i = 5, #ARGV do
  local n = ARGV[i]
  if redis.call('EXISTS', P..'np:'..n, P..'npu:'..n, P..'npw:'..n, P..'sp:'..n) == 0 then
    redis.call('SET', P..'np:'..n, host, 'EX', npttl)
    return {n}
  end
end
return {}
"""

_CLAIM = """
local P, n, joiner, wait, ttl, wttl = 'rassist:', ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local host = redis.call('GET', P..'np:'..n)
if host then
  redis.call('DEL', P..'np:'..n)  -- one claim, one guess: the nameplate is spent either way
  local node = string.match(host, '^([^:]+):')
  -- a host on a node that died may come back elsewhere (redis_queue.py) within the window
  if redis.call('EXISTS', P..'seen:'..node) == 0 then return {'unknown'} end
  redis.call('SET', P..'npu:'..n, host, 'EX', ttl)
  redis.call('SET', P..'hu:'..host, n, 'EX', ttl)
  redis.call('SET', P..'pt:'..host, joiner, 'EX', ttl)
  redis.call('SET', P..'pt:'..joiner, host, 'EX', ttl)
  return {'paired', host}
end
if redis.call('EXISTS', P..'sp:'..n) == 1 and redis.call('EXISTS', P..'npu:'..n) == 0 then
  return {'used'}
end
if wait == '1' and redis.call('EXISTS', P..'npu:'..n, P..'npw:'..n) == 0 then
  redis.call('SET', P..'npw:'..n, joiner, 'EX', wttl)
  return {'waiting'}
end
return {'unknown'}
"""

_RELEASE = """
local P, me, open, awaited, keep = 'rassist:', ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local function drop_if(key, value) if redis.call('GET', key) == value then redis.call('DEL', key) end end
if open ~= '' then drop_if(P..'np:'..open, me) end
if awaited ~= '' then drop_if(P..'npw:'..awaited, me) end
local other = redis.call('GET', P..'pt:'..me)
redis.call('DEL', P..'pt:'..me)
for _, who in ipairs({me, other or ''}) do
  if who ~= '' then
    local n = redis.call('GET', P..'hu:'..who)
    if n then
      redis.call('DEL', P..'hu:'..who)
      if redis.call('GET', P..'npu:'..n) == who then
        redis.call('DEL', P..'npu:'..n)
        redis.call('SET', P..'sp:'..n, '1', 'EX', keep)
      end
    end
  end
end
if other then drop_if(P..'pt:'..other, me) end
return other or ''
"""

_MEET = """
-- ARGV: mailbox, my id, meet ttl, pair ttl
local P, mb, me, ttl, pttl = 'rassist:', ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local other = redis.call('GET', P..'mb:'..mb)
if other and other ~= me then
  redis.call('DEL', P..'mb:'..mb)
  local node = string.match(other, '^([^:]+):')
  if redis.call('EXISTS', P..'node:'..node) == 1 then
    redis.call('SET', P..'pt:'..other, me, 'EX', pttl)
    redis.call('SET', P..'pt:'..me, other, 'EX', pttl)
    return {'met', other}
  end
end
redis.call('SET', P..'mb:'..mb, me, 'EX', ttl)
return {'waiting'}
"""

_UNMEET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""

_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], 120)
return 1
"""


class _Local:
    """What this node knows of one of its own connections."""

    __slots__ = ("ws", "ip", "open", "awaited", "partner", "meeting", "token", "sent", "pumping", "dirty")

    def __init__(self, ws: Hashable, ip: str) -> None:
        self.ws = ws
        self.ip = ip
        self.open = ""       # the nameplate it waits on as a host
        self.awaited = ""    # the nameplate it waits for as a joiner
        self.partner = ""    # its partner's id, once known
        self.meeting = ""    # the resume mailbox it waits at
        self.token = ""      # its resume token, if it asked for one
        self.sent = 0        # numbered frames sent to it
        self.pumping = False  # frames are being replayed to it from Redis
        self.dirty = False   # more arrived meanwhile


class RedisHub(Resuming):
    def __init__(self, url: str, deliver: Deliver, connections_per_ip: int, messages_per_ip: float,
                 resume_window: float = RESUME_WINDOW) -> None:
        try:
            import redis.asyncio as redis
        except ImportError:
            raise HubUnavailable("--redis needs the redis package: pip install 'rassist[cluster]'") from None

        # Requests queue for one of a few connections rather than opening one per client.
        pool = redis.BlockingConnectionPool.from_url(url, decode_responses=True, socket_connect_timeout=5,
                                                     max_connections=POOL, timeout=10)
        self.redis = redis.Redis(connection_pool=pool)
        self.url = url
        self._deliver = deliver
        self.connections_per_ip = connections_per_ip
        self.messages_per_ip = messages_per_ip
        self.node = secrets.token_hex(4)
        self._ids: dict[Hashable, str] = {}      # websocket -> its id
        self._local: dict[str, _Local] = {}      # id -> what we know of it
        self._count = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._allocate = self.redis.register_script(_ALLOCATE)
        self._claim = self.redis.register_script(_CLAIM)
        self._release = self.redis.register_script(_RELEASE)
        self._admit = self.redis.register_script(_ADMIT)
        self.resume_window = resume_window
        self.queues = Queues(self.redis, resume_window, PAIR_TTL, NAMEPLATE_TTL)
        self._meet = self.redis.register_script(_MEET)
        self._unmeet = self.redis.register_script(_UNMEET)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Announce this node and listen for frames addressed to its connections."""
        try:
            await self._alive()
            pubsub = self.redis.pubsub()
            await pubsub.subscribe(P + "to:" + self.node)
        except Exception as exc:
            raise HubUnavailable(f"cannot reach Redis at {self.url}: {exc}") from None
        self._tasks = [asyncio.ensure_future(self._listen(pubsub)), asyncio.ensure_future(self._beat())]
        log.info("cluster node %s on %s", self.node, self.url)

    async def close(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.redis.delete(P + "node:" + self.node)
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    # ---------------------------------------------------------------- the Hub protocol

    async def admit(self, conn: Hashable, ip: str) -> bool:
        self._count += 1
        cid = f"{self.node}:{self._count}"
        now = time.time()
        ok = await self._call(self._admit, keys=[P + "ip:" + ip], args=[cid, now, now + 3 * REFRESH,
                                                                         self.connections_per_ip])
        if ok:
            self._ids[conn] = cid
            self._local[cid] = _Local(conn, ip)
        return bool(ok)

    async def release(self, conn: Hashable) -> Hashable | None:
        cid = self._ids.get(conn)
        if cid is None:
            return None
        me = self._local[cid]
        if me.meeting:
            await self.unmeet(conn, me.meeting)
        other = await self._call(self._release, args=[cid, me.open, me.awaited, int(SPENT_KEEP)])
        me.open = me.awaited = me.partner = ""
        return other or None

    async def leave(self, conn: Hashable, ip: str) -> Hashable | None:
        cid = self._ids.get(conn)
        if self._stopping and cid is not None and self._local[cid].token:
            # This node stops: its clients resume elsewhere, as from a node that died.
            del self._ids[conn], self._local[cid]
            return None
        try:
            return await self.release(conn)
        finally:
            cid = self._ids.pop(conn, None)
            if cid is not None:
                me = self._local.pop(cid)
                with contextlib.suppress(Exception):
                    async with self.redis.pipeline(transaction=False) as pipe:
                        pipe.zrem(P + "ip:" + ip, cid)
                        if me.token:  # a connection that ends here is not resumed elsewhere
                            pipe.delete(P + "rs:" + me.token)
                        await pipe.execute()

    async def allow(self, ip: str) -> bool:
        key = f"{P}rate:{ip}:{int(time.time())}"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                count, _ = await pipe.incr(key).expire(key, 2).execute()
        except Exception as exc:
            raise HubUnavailable(f"Redis stopped answering: {exc}") from None
        return int(count) <= self.messages_per_ip

    async def allocate(self, host: Hashable, wanted: str | None) -> tuple[str, Hashable | None]:
        cid = self._ids[host]
        me = self._local[cid]
        if wanted is not None:
            got = await self._call(self._allocate, args=[cid, PAIR_TTL, NAMEPLATE_TTL, "wanted", wanted])
            if got == ["taken"]:
                raise NameplateTaken(wanted)
        else:
            digits = 3
            while not (got := await self._call(self._allocate, args=[cid, PAIR_TTL, NAMEPLATE_TTL, "any",
                                                                    *self._candidates(digits)])):
                digits += 1  # crowded: longer numbers
        nameplate = got[0]
        if len(got) > 1:
            me.partner = got[1]
            return nameplate, got[1]
        me.open = nameplate
        return nameplate, None

    async def claim(self, nameplate: str, joiner: Hashable, wait: bool) -> Hashable | None:
        cid = self._ids[joiner]
        me = self._local[cid]
        if me.open or me.awaited or me.partner:
            raise NoSuchNameplate(nameplate)
        got = await self._call(self._claim, args=[nameplate, cid, "1" if wait else "0", PAIR_TTL, NAMEPLATE_TTL])
        if got[0] == "paired":
            me.partner = got[1]
            return got[1]
        if got[0] == "waiting":
            me.awaited = nameplate
            return None
        raise NoSuchNameplate(nameplate, used=got[0] == "used")

    async def meet(self, conn: Hashable, mailbox: str) -> Hashable | None:
        cid = self._ids[conn]
        me = self._local[cid]
        if me.open or me.awaited or me.partner or me.meeting or await self.partner(conn):
            raise MailboxBusy(mailbox)
        got = await self._call(self._meet, args=[mailbox, cid, MEET_TTL, PAIR_TTL])
        if got[0] == "met":
            me.partner = got[1]
            waiter = self._local.get(got[1])
            if waiter is not None:  # on this node: it hears "met" from us, not through Pub/Sub
                waiter.meeting = ""
            return got[1]
        me.meeting = mailbox
        return None

    async def unmeet(self, conn: Hashable, mailbox: str) -> bool:
        cid = self._ids.get(conn)
        if cid is None or self._local[cid].meeting != mailbox:
            return False
        self._local[cid].meeting = ""
        return bool(await self._call(self._unmeet, keys=[P + "mb:" + mailbox], args=[cid]))

    async def partner(self, conn: Hashable) -> Hashable | None:
        cid = self._ids.get(conn)
        if cid is None:
            return None
        me = self._local[cid]
        if not me.partner:
            me.partner = await self._call(self.redis.get, P + "pt:" + cid) or ""
            if me.partner:
                me.open = me.awaited = ""  # paired: its nameplate or wait is spent
        return me.partner or None

    async def deliver(self, conn: Hashable, frame: str) -> None:
        """Numbered and kept in Redis (redis_queue.py), then published to the node that has it."""
        cid = conn if isinstance(conn, str) else self._ids.get(conn)
        if cid is not None:
            await self._call(self.queues.push, cid, frame)

    def stats(self) -> dict[str, float]:
        mine = self._local.values()
        return {"waiting_hosts": sum(1 for c in mine if c.open),
                "waiting_joiners": sum(1 for c in mine if c.awaited),
                "paired": sum(1 for c in mine if c.partner),
                "connections": len(self._local)}

    # ---------------------------------------------------------------- internals

    def _candidates(self, digits: int) -> list[str]:
        low = 10 ** (digits - 1)
        return [str(low + secrets.randbelow(9 * low)) for _ in range(CANDIDATES)]

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except (NameplateTaken, ResumeRefused):
            raise
        except Exception as exc:
            raise HubUnavailable(f"Redis stopped answering: {exc}") from None

    async def _listen(self, pubsub: Any) -> None:
        """Frames other nodes send to our connections."""
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis went away: try again, the beat says so in the log
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            try:
                cid, frame, n = json.loads(message["data"])
            except (ValueError, TypeError):
                with contextlib.suppress(ValueError, TypeError):
                    self._detach(*json.loads(message["data"]))
                continue
            local = self._local.get(cid) if isinstance(cid, str) else None
            if local is None or not isinstance(frame, str) or not isinstance(n, int):
                continue
            if frame == PEER_GONE:
                local.partner = ""
            elif frame == MET:  # a side on another node came to the mailbox we wait at
                local.meeting = ""
                with contextlib.suppress(Exception):
                    local.partner = await self.redis.get(P + "pt:" + cid) or ""
            elif frame == JOINED:  # a joiner on another node claimed our host's nameplate
                local.open = ""
                with contextlib.suppress(Exception):
                    local.partner = await self.redis.get(P + "pt:" + cid) or ""
            await self._numbered(cid, local, n, frame)

    async def _beat(self) -> None:
        """Stay alive in Redis, keep our nameplates and address counts fresh, and tell our
        connections when their partner's node has died."""
        last_refresh = 0.0
        while True:
            try:
                await self._alive()
                now = time.time()
                if now - last_refresh >= REFRESH:
                    last_refresh = now
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for cid, c in self._local.items():
                            if c.open:
                                pipe.expire(P + "np:" + c.open, NAMEPLATE_TTL)
                            if c.awaited:
                                pipe.expire(P + "npw:" + c.awaited, NAMEPLATE_TTL)
                            if c.token:
                                pipe.expire(P + "rs:" + c.token, TOKEN_TTL)
                            if c.meeting:
                                pipe.expire(P + "mb:" + c.meeting, MEET_TTL)
                            pipe.zadd(P + "ip:" + c.ip, {cid: now + 3 * REFRESH}, xx=True)
                        await pipe.execute()
                await self._orphans()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep beating; connections fail on their own
                log.warning("cluster: Redis at %s: %s", self.url, exc)
            await asyncio.sleep(BEAT)

    async def _alive(self) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(P + "node:" + self.node, "1", ex=NODE_TTL)
            pipe.set(P + "seen:" + self.node, "1", ex=NODE_TTL + int(self.resume_window))
            await pipe.execute()

    async def _orphans(self) -> None:
        """Our connections paired with one on a node that stopped beating. That one may come
        back through another node within the resume window (its id then changes); past it,
        the pairing is over: tell ours."""
        nodes = sorted({c.partner.split(":", 1)[0] for c in self._local.values()
                        if c.partner and not c.partner.startswith(self.node + ":")})
        if not nodes:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for n in nodes:
                pipe.exists(P + "node:" + n)
                pipe.exists(P + "seen:" + n)
            found = await pipe.execute()
        dead = {n for n, up in zip(nodes, found[::2]) if not up}
        gone = {n for n, seen in zip(nodes, found[1::2]) if not seen}
        for cid, c in list(self._local.items()):
            node = c.partner.split(":", 1)[0] if c.partner else ""
            if node not in dead:
                continue
            c.partner = await self.redis.get(P + "pt:" + cid) or ""  # moved, or gone
            if c.partner and c.partner.split(":", 1)[0] == node and node in gone:
                await self.release(c.ws)
                await self.queues.push(cid, PEER_GONE)
