"""ICE policy on top of aioice: gather fast, several TURN transports, direct first, relay soon.

aiortc hands aioice one STUN and one TURN server and waits up to 5 s for each; aioice then
checks every pair at once with slow retransmissions (0.5, 1, 2, 4 s...). What that costs, as
measured in namespaces (tests/nat.py):
- a STUN or TURN server that UDP cannot reach adds 5 s of gathering on each side;
- only one TURN transport: UDP relays die where UDP is blocked, TCP relays are slow elsewhere;
- coturn stops relaying on an allocation once sending to one peer address fails (our relay to
  the peer's private host address: ENETUNREACH), so all relay pairs die with it: this is why
  "all candidates" failed where "relay only" worked;
- a check that is already in progress is not re-sent when the peer's check arrives (RFC 8445
  7.3.1.4 says it should be), so a punched hole is noticed only at the next retransmission;
- with aggressive nomination the first pair to answer wins, a relay pair included;
- connect() paces the checks with a 20 ms sleep and sees the check list complete only when
  that sleep ends: every ICE completion came up to 20 ms late (29 ms of ICE on loopback, for a
  first check that succeeds in 3).
So this module replaces gathering (bounded waits, every TURN URL, the best relay kept), drops
relay-to-private-address pairs, re-sends in-progress checks when the peer's check arrives, and
holds relay checks back for RELAY_DELAY so that a direct path wins when there is one, and
ends connect()'s pause between checks as soon as the check list is done.

It touches aioice internals (a Connection's methods, a Transaction's request): aioice 0.13."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aioice import ice as aioice_ice
from aioice import stun as aioice_stun
from aioice.candidate import Candidate

from rassist.transport.route import is_private

RELAY_DELAY = 0.5      # relay checks wait this long after ICE starts: direct paths answer first
STUN_WAIT = 0.8        # a STUN server that has not answered by then is taken as unreachable
RELAY_GRACE = 0.25     # after the first relay allocation, how long the other transports may take
GATHER_DEADLINE = 2.0  # nothing in gathering waits longer than this
TRANSPORT_RANK = {"udp": 2, "tcp": 1, "tls": 0}
PACING = 0.02          # between two checks started by connect(), as aioice paces them (Ta)


@dataclass(frozen=True)
class TurnServer:
    url: str
    host: str
    port: int
    transport: str   # "udp", "tcp" or "tls"
    username: str
    password: str


@dataclass
class Plan:
    """What the rendezvous server handed out, parsed: one STUN server, any number of TURN URLs."""

    stun: tuple[str, int] | None = None
    stun_url: str | None = None
    turn: list[TurnServer] = field(default_factory=list)


def plan(servers: Iterable[dict[str, Any]]) -> Plan:
    """Parse {urls, username, credential} entries; malformed URLs are skipped, not fatal."""
    from aiortc.rtcicetransport import parse_stun_turn_uri

    result = Plan()
    for server in servers:
        urls = server.get("urls")
        for url in urls if isinstance(urls, list) else [urls]:
            if not isinstance(url, str) or len(url) > 300:
                continue
            try:
                parsed = parse_stun_turn_uri(url)
            except (ValueError, TypeError):
                continue
            if not 0 < parsed["port"] < 65536:
                continue
            if parsed["scheme"] == "stun" and result.stun is None:
                result.stun, result.stun_url = (parsed["host"], parsed["port"]), url
            elif parsed["scheme"] in ("turn", "turns"):
                transport = "tls" if parsed["scheme"] == "turns" else parsed["transport"]
                user, password = server.get("username"), server.get("credential")
                if transport in TRANSPORT_RANK and isinstance(user, str) and isinstance(password, str):
                    result.turn.append(TurnServer(url, parsed["host"], parsed["port"], transport, user, password))
    return result


def describe_failure(exc: BaseException) -> str:
    """A TURN or STUN failure in words a person can act on."""
    if isinstance(exc, aioice_stun.TransactionFailed):
        code = exc.response.attributes.get("ERROR-CODE") if exc.response else None
        if not (isinstance(code, tuple) and len(code) == 2):
            return "refused the allocation"
        code = (code[0], str(code[1])[:60])
        if code[0] == 401:
            return "refused the credentials (401: the server's --turn-secret differs from coturn's, or they expired)"
        if code[0] == 438:
            return "said the credentials are stale (438)"
        return f"refused the allocation ({code[0]} {code[1]!r})"
    if isinstance(exc, (aioice_stun.TransactionTimeout, asyncio.TimeoutError, asyncio.CancelledError)):
        return "did not answer"
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection (is coturn running?)"
    if isinstance(exc, OSError):
        return f"could not be reached ({exc.strerror or exc})"
    return f"failed ({type(exc).__name__})"


async def connect(self: aioice_ice.Connection) -> None:
    """aioice 0.13's Connection.connect(), the checks paced as before, but the pause between two
    checks ends as soon as the check list completes or fails (aioice's own looks only after it)."""
    if not self._local_candidates_end:
        raise ConnectionError("Local candidates gathering was not performed")
    if self.remote_username is None or self.remote_password is None:
        raise ConnectionError("Remote username or password is missing")
    for remote_candidate in self._remote_candidates:  # forming pairs (RFC 8445 6.1.2.2)
        self._pair_remote_candidate(remote_candidate)
    self.sort_check_list()
    self._unfreeze_initial()
    for early_check in self._early_checks:  # the checks received before connect()
        self.check_incoming(*early_check)
    self._early_checks.clear()
    self._early_checks_done = True

    outcome: asyncio.Task[int] = asyncio.ensure_future(self._check_list_state.get())
    try:
        while not outcome.done() and self._check_periodic():
            await asyncio.wait({outcome}, timeout=PACING)
        res = await outcome if outcome.done() or self._check_list else aioice_ice.ICE_FAILED
    finally:
        outcome.cancel()  # a wait still pending (no check list, or we are cancelled) ends here
    for check in self._check_list:  # cancel the remaining checks
        if check.task:
            check.task.cancel()
    if res != aioice_ice.ICE_COMPLETED:
        raise ConnectionError("ICE negotiation failed")
    self._query_consent_task = asyncio.create_task(self.query_consent())  # RFC 7675


class Tuner:
    """Installs this policy on the aioice connections of one RTCPeerConnection."""

    def __init__(self, ice_plan: Plan, relay_only: bool) -> None:
        self.plan = ice_plan
        self.relay_only = relay_only
        self.relays: dict[tuple[str, int], str] = {}  # our relay candidate -> "udp"/"tcp"/"tls"
        self.failures: list[str] = []                 # what went wrong while gathering
        self.srflx = False                            # did STUN give us a public address
        self.started: float | None = None             # loop time of the first connectivity check
        self._installed: set[int] = set()

    def install(self, pc: Any) -> None:
        """Before setLocalDescription: every ICE transport of `pc` not yet tuned."""
        transports = [t.sender.transport for t in pc.getTransceivers() if t.sender.transport]
        if pc.sctp is not None:
            transports.append(pc.sctp.transport)
        for dtls in transports:
            conn = dtls.transport.iceGatherer._connection
            if id(conn) not in self._installed:
                self._installed.add(id(conn))
                self._tune(conn)

    def _tune(self, conn: aioice_ice.Connection) -> None:
        conn.stun_server = None  # we gather those ourselves
        conn.turn_server = None
        host_only = conn.get_component_candidates
        pair_remote = conn._pair_remote_candidate
        check_start = conn.check_start
        check_incoming = conn.check_incoming
        state: dict[str, float | None] = {"started": None}
        tuner = self

        async def get_component_candidates(self: aioice_ice.Connection, component: int,
                                           addresses: list[str], timeout: int = 5) -> list[Candidate]:
            candidates = await host_only(component=component, addresses=addresses)
            return candidates + await tuner._gather(self, component)

        def _pair_remote_candidate(self: aioice_ice.Connection, remote: Candidate) -> None:
            pair_remote(remote)
            if remote.type == "host" and is_private(remote.host):
                # A TURN server cannot reach a private address, and coturn stops relaying on an
                # allocation after such a send fails: never pair our relay with one.
                self._check_list[:] = [p for p in self._check_list
                                       if not (p.remote_candidate is remote and p.local_candidate.type == "relay")]

        async def _check_start(self: aioice_ice.Connection, pair: aioice_ice.CandidatePair) -> None:
            loop = asyncio.get_running_loop()
            if state["started"] is None:
                state["started"] = loop.time()
                if tuner.started is None:
                    tuner.started = state["started"]
            if "relay" in (pair.local_candidate.type, pair.remote_candidate.type) and not tuner.relay_only:
                wait = state["started"] + RELAY_DELAY - loop.time()
                if wait > 0:
                    pair.state = aioice_ice.CandidatePair.State.IN_PROGRESS  # the pacer moves on
                    await asyncio.sleep(wait)
                if self._check_list_done or self._nominated:
                    return
            await check_start(pair)

        def _check_incoming(self: aioice_ice.Connection, message: aioice_stun.Message,
                            addr: tuple[str, int], protocol: aioice_ice.StunProtocol) -> None:
            check_incoming(message, addr, protocol)
            # The peer's check got through, so ours will too: re-send it now (a triggered check)
            # instead of at the next retransmission, up to seconds away.
            for transaction in list(protocol.transactions.values()):
                if getattr(transaction, "_Transaction__addr", None) == addr:
                    request = getattr(transaction, "_Transaction__request", None)
                    if request is not None:
                        protocol.send_stun(request, addr)

        conn.get_component_candidates = types.MethodType(get_component_candidates, conn)
        conn._pair_remote_candidate = types.MethodType(_pair_remote_candidate, conn)
        conn.check_start = types.MethodType(_check_start, conn)
        conn.check_incoming = types.MethodType(_check_incoming, conn)
        conn.connect = types.MethodType(connect, conn)

    async def _gather(self, conn: aioice_ice.Connection, component: int) -> list[Candidate]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        stun_tasks: dict[asyncio.Task, str] = {}
        if self.plan.stun and not self.relay_only:
            for protocol in conn._protocols:
                local = protocol.local_candidate
                if local is not None and local.type == "host" and ipaddress.ip_address(local.host).version == 4:
                    task = asyncio.ensure_future(aioice_ice.server_reflexive_candidate(protocol, self.plan.stun))
                    stun_tasks[task] = self.plan.stun_url or "STUN"
        relay_tasks: dict[asyncio.Task, TurnServer] = {}
        for server in self.plan.turn:
            relay_tasks[asyncio.ensure_future(self._allocate(conn, component, server))] = server
        found: list[Candidate] = []
        relays: list[tuple[TurnServer, Candidate, Any]] = []
        first_relay: float | None = None
        pending = set(stun_tasks) | set(relay_tasks)
        while pending:
            now = loop.time()
            deadline = start + GATHER_DEADLINE
            if first_relay is not None:
                deadline = min(deadline, first_relay + RELAY_GRACE)
            if not any(t in relay_tasks for t in pending):
                deadline = min(deadline, start + STUN_WAIT)
            if now >= deadline:
                break
            done, pending = await asyncio.wait(pending, timeout=deadline - now,
                                               return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if task in stun_tasks:
                    if exc is None:
                        found.append(task.result()[0])
                        self.srflx = True
                    continue
                server = relay_tasks[task]
                if exc is not None:
                    self.failures.append(f"TURN {server.url} {describe_failure(exc)}")
                    continue
                candidate, protocol = task.result()
                relays.append((server, candidate, protocol))
                if first_relay is None:
                    first_relay = loop.time()
        for task in pending:
            task.cancel()
            if task in relay_tasks:
                self.failures.append(f"TURN {relay_tasks[task].url} did not answer within "
                                     f"{loop.time() - start:.1f} s")
            else:
                self.failures.append(f"STUN {stun_tasks[task]} did not answer")
        if not relays:
            return found
        # The best transport only: one relay is enough, and UDP is the cheapest for everyone.
        relays.sort(key=lambda r: -TRANSPORT_RANK[r[0].transport])
        server, candidate, protocol = relays[0]
        for _, _, other in relays[1:]:
            with contextlib.suppress(Exception):
                asyncio.ensure_future(other.close())
        conn._protocols.append(protocol)
        self.relays[(candidate.host, candidate.port)] = server.transport
        return found + [candidate]

    async def _allocate(self, conn: aioice_ice.Connection, component: int,
                        server: TurnServer) -> tuple[Candidate, Any]:
        ssl: Any = False
        if server.transport == "tls":
            import ssl as ssl_module

            ssl = ssl_module.create_default_context()
        return await aioice_ice.relayed_candidate(
            component=component, hide_related_address=self.relay_only,
            protocol_factory=lambda: aioice_ice.StunProtocol(conn),
            turn_server=(server.host, server.port), turn_username=server.username,
            turn_password=server.password, turn_ssl=ssl,
            turn_transport="tcp" if server.transport == "tls" else server.transport)
