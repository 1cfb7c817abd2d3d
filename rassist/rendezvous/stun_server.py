"""The rendezvous server's STUN responder: tells a client the address its packets come from.

That server-reflexive address is what lets two peers behind ordinary home routers reach each
other without a relay, so `rassist server` alone is enough for them. Hostile senders get
nothing useful: non-requests are ignored, an answer is never larger than the request plus the
address, and each source address has its own small rate limit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from rassist.protocol import stun
from rassist.protocol.ratelimit import TokenBucket

log = logging.getLogger("rassist.server")
MAX_SOURCES = 4096  # buckets kept; the oldest source is forgotten first


class StunResponder(asyncio.DatagramProtocol):
    def __init__(self, rate: float = 10.0, burst: float = 20.0) -> None:
        self.rate, self.burst = rate, burst
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self.transport: asyncio.DatagramTransport | None = None
        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport

    def _allowed(self, source: str) -> bool:
        bucket = self.buckets.pop(source, None) or TokenBucket(self.rate, self.burst)
        self.buckets[source] = bucket
        while len(self.buckets) > MAX_SOURCES:
            self.buckets.popitem(last=False)
        return bucket.allow(time.monotonic())

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        transaction = stun.parse_binding_request(data)
        if transaction is None or self.transport is None or not self._allowed(addr[0]):
            return
        host = addr[0].split("%", 1)[0]
        if host.startswith("::ffff:"):  # an IPv4 client on a dual-stack socket
            host = host[7:]
        answer = stun.build_binding_response(transaction, host, addr[1])
        if len(answer) <= len(data) + 24:  # never an amplifier
            self.transport.sendto(answer, addr)
            self.answered += 1

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for one client says nothing about the others


async def start_stun(host: str, ports: list[int], fallback: bool = False) -> list[tuple[asyncio.DatagramTransport, int]]:
    """Listen on each port (0 picks one); returns the transports and the ports they got.
    With `fallback` a port that is taken is replaced by a free one instead of failing."""
    loop = asyncio.get_running_loop()
    running = []
    for port in ports:
        try:
            transport, _ = await loop.create_datagram_endpoint(StunResponder, local_addr=(host, port))
        except OSError:
            if not fallback:
                raise
            transport, _ = await loop.create_datagram_endpoint(StunResponder, local_addr=(host, 0))
        running.append((transport, transport.get_extra_info("sockname")[1]))
    return running


def stun_urls(host_header: str | None, public_host: str | None, ports: list[int]) -> list[str]:
    """`stun:` URLs for a client: the host it reached us at (or the configured public host)."""
    host = public_host or _host_part(host_header or "")
    if not host or not ports:
        return []
    if ":" in host:
        host = f"[{host}]"
    return [f"stun:{host}:{port}" for port in ports]


def _host_part(header: str) -> str:
    header = header.strip()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header
