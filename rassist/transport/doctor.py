"""What this network allows: the checks behind `rassist doctor`.

Each check emits one `check` event; a `verdict` follows. Answers from the STUN and TURN servers
are parsed as hostile input (protocol/stun.py, aioice), and every wait is bounded."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rassist.errors import NoRoute, RassistError, Unreachable
from rassist.protocol import stun
from rassist.transport import ice

Emit = Callable[..., None]
STUN_TIMEOUT = 1.5
TURN_TIMEOUT = 4.0


@dataclass
class Findings:
    rendezvous_ms: float | None = None
    public: tuple[str, int] | None = None
    mapping: str = "unknown"          # endpoint-independent / port-dependent / none (public) / unknown
    relays: dict[str, bool] = field(default_factory=dict)  # TURN URL -> allocation worked
    relay_transports: set[str] = field(default_factory=set)  # udp / tcp / tls that worked
    stun_configured: bool = False


class _Probe(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answers: asyncio.Queue[tuple[bytes, tuple]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if len(data) <= 2048 and self.answers.qsize() < 64:
            self.answers.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        pass


async def _stun_query(transport: asyncio.DatagramTransport, probe: _Probe, server: tuple[str, int]) -> tuple[str, int] | None:
    """Ask `server` from this socket, re-sending every 300 ms; the mapped address or None."""
    request, transaction = stun.build_binding_request()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STUN_TIMEOUT
    next_send = 0.0
    while (left := deadline - loop.time()) > 0:
        if loop.time() >= next_send:
            transport.sendto(request, server)
            next_send = loop.time() + 0.3
        try:
            data, _ = await asyncio.wait_for(probe.answers.get(), min(left, max(0.01, next_send - loop.time())))
        except TimeoutError:
            continue
        mapped = stun.parse_binding_response(data, transaction)
        if mapped is not None:
            return mapped
    return None


async def _resolve(host: str) -> str:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    return str(infos[0][4][0])


async def check_stun(urls: list[str], emit: Emit, found: Findings) -> None:
    servers = []
    for url in urls[:2]:
        parsed = ice.plan([{"urls": [url]}])
        if parsed.stun:
            servers.append(parsed.stun)
    if not servers:
        emit("check", name="stun", ok=False, message="the server answers no STUN (rassist server --no-stun?)")
        return
    found.stun_configured = True
    loop = asyncio.get_running_loop()
    try:
        addresses = [(await _resolve(h), p) for h, p in servers]
    except OSError as exc:
        emit("check", name="stun", ok=False, message=f"cannot resolve the STUN host: {exc}")
        return
    transport, probe = await loop.create_datagram_endpoint(_Probe, local_addr=("0.0.0.0", 0))
    try:
        mapped = [await _stun_query(transport, probe, addr) for addr in addresses]
        local = transport.get_extra_info("sockname")
    finally:
        transport.close()
    if mapped[0] is None:
        emit("check", name="stun", ok=False,
             message=f"no STUN answer from {servers[0][0]}:{servers[0][1]} over UDP: UDP is blocked or filtered")
        return
    found.public = mapped[0]
    emit("check", name="stun", ok=True, public_address=f"{mapped[0][0]}:{mapped[0][1]}",
         message=f"public address {mapped[0][0]}:{mapped[0][1]}")
    if len(mapped) < 2 or mapped[1] is None:
        found.mapping = "unknown"
        emit("check", name="mapping", ok=True, mapping="unknown",
             message="only one STUN port answered: cannot tell how this NAT maps ports")
        return
    if mapped[0] == mapped[1]:
        nat = not _is_local_address(mapped[0][0], local)
        found.mapping = "endpoint-independent" if nat else "none"
        message = ("no NAT: this machine has a public address" if not nat else
                   "endpoint-independent: the same public port for two destinations (hole punching works)")
    else:
        found.mapping = "port-dependent"
        message = (f"port-dependent: {mapped[0][1]} for one destination, {mapped[1][1]} for another "
                   "(direct connections will likely need the relay)")
    emit("check", name="mapping", ok=found.mapping != "port-dependent", mapping=found.mapping, message=message)


def _is_local_address(address: str, sockname: tuple) -> bool:
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind((address, 0))
            return True
        finally:
            probe.close()
    except OSError:
        return False


async def check_turn(servers: list[ice.TurnServer], emit: Emit, found: Findings) -> None:
    from aioice import turn

    if not servers:
        emit("check", name="turn", ok=False, message="the server hands out no TURN relay")
        return

    async def one(server: ice.TurnServer) -> None:
        ssl: Any = False
        if server.transport == "tls":
            import ssl as ssl_module

            ssl = ssl_module.create_default_context()
        started = time.perf_counter()
        try:
            transport, _ = await asyncio.wait_for(turn.create_turn_endpoint(
                asyncio.DatagramProtocol, server_addr=(server.host, server.port), username=server.username,
                password=server.password, ssl=ssl,
                transport="tcp" if server.transport == "tls" else server.transport), TURN_TIMEOUT)
        except Exception as exc:  # a hostile or broken TURN server must not end the diagnosis
            found.relays[server.url] = False
            emit("check", name="turn", url=server.url, transport=server.transport, ok=False,
                 message=f"TURN {server.url} {ice.describe_failure(exc)}")
            return
        relayed = transport.get_extra_info("sockname")
        transport.close()
        found.relays[server.url] = True
        found.relay_transports.add(server.transport)
        emit("check", name="turn", url=server.url, transport=server.transport, ok=True,
             ms=round((time.perf_counter() - started) * 1000),
             message=f"TURN over {server.transport.upper()} works: relayed address {relayed[0]}:{relayed[1]}")

    await asyncio.gather(*(one(s) for s in servers))


def verdict(found: Findings) -> tuple[str, str, bool]:
    """(verdict, sentence, a session can be made)."""
    relay = any(found.relays.values())
    relay_over = sorted((t.upper() for t in found.relay_transports), key=lambda t: ("UDP", "TCP", "TLS").index(t))
    if found.public is not None and found.mapping in ("endpoint-independent", "none", "unknown"):
        extra = " (and a relay as a fallback)" if relay else ""
        return "direct", f"direct connections likely{extra}", True
    if relay:
        why = "this NAT maps ports per destination" if found.mapping == "port-dependent" else "UDP is blocked"
        return "relay", f"a relay will be needed ({why}); relay works over {', '.join(relay_over)}", True
    if found.public is not None:
        return "unlikely", ("direct connections unlikely (port-dependent NAT) and no working relay: "
                            "a session works only if the other side is reachable"), False
    return "blocked", "blocked: no UDP to the server and no working relay (ask for a TURN server on TCP/443)", False


async def diagnose(url: str, emit: Emit, timeout: float) -> int:
    from rassist.rendezvous.client import RendezvousClient

    found = Findings()
    started = time.perf_counter()
    try:
        client = await RendezvousClient.connect(url, timeout)
    except RassistError as exc:
        emit("check", name="rendezvous", ok=False, message=exc.message)
        emit("verdict", verdict="blocked", ok=False, message=f"blocked: cannot reach the rendezvous server at {url}")
        return Unreachable.exit_code
    try:
        connect_ms = (time.perf_counter() - started) * 1000
        found.rendezvous_ms = await client.ping(timeout) * 1000
        emit("check", name="rendezvous", ok=True, url=url, rtt_ms=round(found.rendezvous_ms, 1),
             connect_ms=round(connect_ms), message=f"reachable, round trip {found.rendezvous_ms:.0f} ms")
        servers = await client.turn_servers()
    finally:
        await client.close()
    stun_urls = [u for s in servers for u in (s.get("urls") or []) if isinstance(u, str) and u.startswith("stun:")]
    plan = ice.plan(servers)
    await asyncio.gather(check_stun(stun_urls, emit, found), check_turn(plan.turn, emit, found))
    name, sentence, ok = verdict(found)
    emit("verdict", verdict=name, ok=ok, message=sentence)
    return 0 if ok else NoRoute.exit_code
