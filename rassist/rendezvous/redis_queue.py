"""What lets a connection outlive its node: numbered frames kept in Redis, and resume tokens.

Every frame a node delivers on behalf of the pairing (joined, claimed, message, peer-gone) is
numbered per connection and kept, the last QUEUE_CAP of them (QUEUE_BYTES at most) for QUEUE_TTL
seconds, before it is published to the connection's node. A client that reconnects (to any node) says how many it
has; the node replays the rest, so nothing is lost and nothing arrives twice. Each "send" a
connection makes is counted, so a client also knows which of its own sends to repeat.

Keys (all under "rassist:", all expiring):
    rs:TOKEN   "CONN KEY ADDRESS": the connection a token resumes, and the hash of the client's
               secret (never the secret)                     (TOKEN_TTL, refreshed while connected)
    q:CONN     the numbered frames for CONN, "N FRAME" each   (QUEUE_TTL after the last one)
    qn:CONN    how many frames were numbered for CONN        (the pairing's lifetime)
    in:CONN    how many sends CONN made                      (the pairing's lifetime)
    mv:CONN    where CONN moved: a late frame follows it      (the resume window)
    seen:NODE  NODE was alive less than the resume window ago
Resuming moves a connection's keys to its new id in one Lua script, so no frame is pushed to a
name that is being renamed.
"""

from __future__ import annotations

from typing import Any

from rassist.protocol import rendezvous_resume as rr
from rassist.rendezvous.hub import ResumeRefused

QUEUE_CAP = 16
QUEUE_BYTES = 256 * 1024  # per connection, whatever the frames' sizes (a frame is up to 64 KiB)
QUEUE_TTL = 30
TOKEN_TTL = 180

_PUSH_FN = """
local P = 'rassist:'
local function push(c, frame, cap, qttl, pttl, maxbytes)
  for _ = 1, 4 do
    local m = redis.call('GET', P..'mv:'..c)
    if not m then break end
    c = m
  end
  local n = redis.call('INCR', P..'qn:'..c)
  redis.call('EXPIRE', P..'qn:'..c, pttl)
  redis.call('RPUSH', P..'q:'..c, n..' '..frame)
  redis.call('LTRIM', P..'q:'..c, -cap, -1)
  local kept, bytes = redis.call('LRANGE', P..'q:'..c, 0, -1), 0
  for i = #kept, 1, -1 do  -- newest first: the oldest go once the bytes are over the bound
    bytes = bytes + #kept[i]
    if bytes > maxbytes and i < #kept then
      redis.call('LTRIM', P..'q:'..c, i, -1)
      break
    end
  end
  redis.call('EXPIRE', P..'q:'..c, qttl)
  redis.call('PUBLISH', P..'to:'..string.match(c, '^([^:]+):'), cjson.encode({c, frame, n}))
  return c
end
"""

# ARGV: target, frame, cap, queue ttl, pair ttl, bytes
_PUSH = _PUSH_FN + "return push(ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]))"

# ARGV: sender, frame, cap, queue ttl, pair ttl, bytes. Counts the send; pushes it to the partner.
_RELAY = _PUSH_FN + """
redis.call('INCR', P..'in:'..ARGV[1])
redis.call('EXPIRE', P..'in:'..ARGV[1], ARGV[5])
local other = redis.call('GET', P..'pt:'..ARGV[1])
if not other then return '' end
return push(other, ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]))
"""

# ARGV: token, hash of the secret shown, new id, new token, new key, nameplate hint, was, have,
#       token ttl, pair ttl, nameplate ttl, window, address
_RESUME = """
local P = 'rassist:'
local tok, proof, new, hint, was, have = ARGV[1], ARGV[2], ARGV[3], ARGV[6], ARGV[7], tonumber(ARGV[8])
local rec = redis.call('GET', P..'rs:'..tok)
if not rec then return {'refused', 'unknown token or wrong secret'} end
local old, key, ip = string.match(rec, '^(%S+) (%S+) ?(%S*)$')
if key ~= proof then return {'refused', 'unknown token or wrong secret'} end
redis.call('DEL', P..'rs:'..tok)  -- single use, whatever follows
local node = string.match(old, '^([^:]+):')
if redis.call('EXISTS', P..'seen:'..node) == 0 then
  return {'refused', 'too late: its node died longer ago than the resume window'}
end
local other = redis.call('GET', P..'pt:'..old)
local state = 'idle'
if other then state = 'paired'
elseif hint ~= '' and redis.call('GET', P..'np:'..hint) == old then state = 'open'
elseif hint ~= '' and redis.call('GET', P..'npw:'..hint) == old then state = 'awaiting' end
local queued = tonumber(redis.call('GET', P..'qn:'..old) or '0')
if queued > have then
  local first = redis.call('LINDEX', P..'q:'..old, 0)
  if not first or tonumber(string.match(first, '^(%d+) ')) > have + 1 then
    return {'refused', 'frames for it expired before it came back'}
  end
end
if was ~= '' and state == 'idle' and queued <= have then
  return {'refused', 'what it held (a nameplate or a pairing) is gone'}
end
redis.call('SET', P..'rs:'..ARGV[4], new..' '..ARGV[5]..' '..ARGV[13], 'EX', ARGV[9])
if other then
  redis.call('DEL', P..'pt:'..old)
  redis.call('SET', P..'pt:'..new, other, 'EX', ARGV[10])
  if redis.call('GET', P..'pt:'..other) == old then redis.call('SET', P..'pt:'..other, new, 'EX', ARGV[10]) end
end
local n = redis.call('GET', P..'hu:'..old)
if n then
  redis.call('DEL', P..'hu:'..old)
  redis.call('SET', P..'hu:'..new, n, 'EX', ARGV[10])
  if redis.call('GET', P..'npu:'..n) == old then redis.call('SET', P..'npu:'..n, new, 'EX', ARGV[10]) end
end
if state == 'open' then redis.call('SET', P..'np:'..hint, new, 'EX', ARGV[11]) end
if state == 'awaiting' then redis.call('SET', P..'npw:'..hint, new, 'EX', ARGV[11]) end
for _, k in ipairs({'q:', 'qn:', 'in:'}) do
  if redis.call('EXISTS', P..k..old) == 1 then redis.call('RENAME', P..k..old, P..k..new) end
end
redis.call('SET', P..'mv:'..old, new, 'EX', ARGV[12])
if ip ~= '' then redis.call('ZREM', P..'ip:'..ip, old) end
redis.call('PUBLISH', P..'to:'..node, cjson.encode({'detach', old}))
return {'ok', state, redis.call('GET', P..'in:'..new) or '0', other or ''}
"""


class Queues:
    """The Redis side of numbered frames and resume tokens, for one node's RedisHub."""

    def __init__(self, redis: Any, window: float, pair_ttl: int, nameplate_ttl: int) -> None:
        self.redis = redis
        self.window = window
        self.pair_ttl = pair_ttl
        self.nameplate_ttl = nameplate_ttl
        self._push = redis.register_script(_PUSH)
        self._relay = redis.register_script(_RELAY)
        self._resume = redis.register_script(_RESUME)

    async def push(self, cid: str, frame: str) -> None:
        await self._push(args=[cid, frame, QUEUE_CAP, QUEUE_TTL, self.pair_ttl, QUEUE_BYTES])

    async def relay(self, sender: str, frame: str) -> bool:
        """Count a send from `sender` and push it to its partner; False if it has none."""
        return bool(await self._relay(args=[sender, frame, QUEUE_CAP, QUEUE_TTL, self.pair_ttl, QUEUE_BYTES]))

    async def issue(self, cid: str, key: str, ip: str) -> str:
        token = rr.new_token()
        await self.redis.set(f"rassist:rs:{token}", f"{cid} {key} {ip}", ex=TOKEN_TTL)
        return token

    async def resume(self, token: str, secret: str, cid: str, key: str, ip: str, hint: str, was: str,
                     have: int) -> tuple[str, str, int, str]:
        """Move the connection `token` names to `cid`: (new token, state, got, partner)."""
        fresh = rr.new_token()
        got = await self._resume(args=[token, rr.verifier(secret), cid, fresh, key, hint, was, have,
                                       TOKEN_TTL, self.pair_ttl, self.nameplate_ttl, int(self.window), ip])
        if got[0] != "ok":
            raise ResumeRefused(got[1])
        return fresh, got[1], int(got[2]), got[3]

    async def entries(self, cid: str) -> list[tuple[int, str]]:
        """The numbered frames kept for `cid`, oldest first."""
        kept = []
        for entry in await self.redis.lrange(f"rassist:q:{cid}", 0, -1):
            n, _, frame = entry.partition(" ")
            kept.append((int(n), frame))
        return kept
