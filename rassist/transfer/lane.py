"""The fast lane: a direct TCP connection with mutually pinned TLS 1.3.

The sender listens on the addresses of its interfaces and puts them, with its certificate,
in the offer; the receiver puts its own certificate in the accept and tries the addresses
(staggered, a couple of seconds at most). Either side may find no path: the transfer then
runs over the "bulk" data channel instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from rassist.transfer.tlscert import Identity, check_peer, client_context, server_context
from rassist.transfer.tlsstream import TlsStream

log = logging.getLogger("rassist.transfer.lane")
CONNECT_TIMEOUT = 1.5  # per address
CONNECT_BUDGET = 3.0  # for all addresses together
STAGGER = 0.25  # start the next address this long after the previous one
HANDSHAKE_TIMEOUT = 10.0  # the sender handshakes only once the accept has arrived over ctl
READY = b"\x01"  # listener -> client: your certificate passed
_HANDSHAKES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rassist-handshake")


def local_addresses(preferred: Iterable[str] = ()) -> list[str]:
    """IP addresses of this machine's interfaces: preferred first, loopback last."""
    found: list[str] = []
    try:
        import ifaddr  # aioice's dependency: already installed with aiortc

        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if isinstance(ip.ip, str):
                    found.append(ip.ip)
                elif ip.ip[2] == 0:  # IPv6 with no scope: usable without an interface name
                    found.append(ip.ip[0])
    except Exception:  # noqa: BLE001 - no interface list: loopback still serves one machine
        log.debug("could not list interfaces", exc_info=True)
    addrs: list[str] = []
    for addr in [*preferred, *found, "127.0.0.1"]:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            continue
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified or addr in addrs:
            continue
        addrs.append(addr)
    # Loopback only helps on one machine, where any other address works as well.
    return sorted(addrs, key=lambda a: ipaddress.ip_address(a).is_loopback)


class Listener:
    """Listening sockets for one offer; connections wait until the peer's certificate is known."""

    def __init__(self, me: Identity) -> None:
        self.me = me
        self._sockets: list[socket.socket] = []
        self.addrs: list[tuple[str, int]] = []

    def open(self, hosts: list[str]) -> None:
        for host in hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.bind((host, 0))
                sock.listen(8)
                sock.setblocking(False)
            except OSError:
                sock.close()
                continue
            self._sockets.append(sock)
            self.addrs.append((host, sock.getsockname()[1]))

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    async def connections(self, peer_cert_pem: str, found: asyncio.Queue[TlsStream]) -> None:
        """Accept on every socket; each connection that passes the pinned handshake goes in
        `found`. Runs until cancelled."""
        ctx = server_context(self.me, peer_cert_pem)
        tasks = [asyncio.ensure_future(self._accept(sock, ctx, peer_cert_pem, found))
                 for sock in self._sockets]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _accept(self, lsock: socket.socket, ctx: ssl.SSLContext, peer_cert_pem: str,
                      found: asyncio.Queue[TlsStream]) -> None:
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Future[None]] = set()
        try:
            while True:
                conn, _ = await loop.sock_accept(lsock)

                async def handshake(conn: socket.socket = conn) -> None:
                    try:
                        tls = await _on_thread(conn, ctx, True, peer_cert_pem)
                    except (OSError, ssl.SSLError, ValueError) as exc:
                        log.info("fast lane: refused a connection: %s", exc)
                        conn.close()
                        return
                    found.put_nowait(TlsStream(tls))

                task = asyncio.ensure_future(handshake())
                pending.add(task)
                task.add_done_callback(pending.discard)
        finally:
            for task in pending:
                task.cancel()


def _handshake(sock: socket.socket, ctx: ssl.SSLContext, server: bool,
               peer_cert_pem: str) -> ssl.SSLSocket:
    """Blocking TLS handshake on a worker thread, with a deadline."""
    sock.setblocking(True)
    sock.settimeout(HANDSHAKE_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = ctx.wrap_socket(sock, server_side=server, do_handshake_on_connect=False)
    try:
        tls.do_handshake()
        check_peer(tls, peer_cert_pem)
        # In TLS 1.3 the client finishes its handshake before the server has checked the
        # client's certificate: the server's READY is what tells the client it was accepted.
        if server:
            tls.sendall(READY)
        elif tls.recv(len(READY)) != READY:
            raise ssl.SSLError("the listener did not confirm the connection")
    except BaseException:
        tls.close()
        raise
    tls.settimeout(None)
    return tls


async def _try(addr: tuple[str, int], ctx: ssl.SSLContext, peer_cert_pem: str) -> TlsStream:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, addr), CONNECT_TIMEOUT)
    except BaseException:
        sock.close()
        raise
    tls = await _on_thread(sock, ctx, False, peer_cert_pem)
    return TlsStream(tls)


async def _on_thread(sock: socket.socket, ctx: ssl.SSLContext, server: bool,
                     peer_cert_pem: str) -> ssl.SSLSocket:
    """The handshake on a worker thread; if we stop waiting, the socket is closed when it ends.
    Handshakes get their own few threads: strangers connecting to the listener must not tie up
    the threads that read and write the files."""
    loop = asyncio.get_running_loop()
    pool = _HANDSHAKES if server else None  # the client's are few: one per advertised address
    job = loop.run_in_executor(pool, _handshake, sock, ctx, server, peer_cert_pem)
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        job.add_done_callback(_close_late)
        raise


def _close_late(job: asyncio.Future[ssl.SSLSocket]) -> None:
    if not job.cancelled() and job.exception() is None:
        job.result().close()


async def connect(addrs: list[tuple[str, int]], me: Identity, peer_cert_pem: str,
                  budget: float = CONNECT_BUDGET) -> TlsStream | None:
    """The first address that completes the pinned handshake, or None."""
    if not addrs:
        return None
    ctx = client_context(me, peer_cert_pem)
    tasks: list[asyncio.Task[TlsStream]] = []
    winner: TlsStream | None = None
    deadline = asyncio.get_running_loop().time() + budget
    try:
        for addr in addrs:
            tasks.append(asyncio.ensure_future(_try(addr, ctx, peer_cert_pem)))
            winner = await _first(tasks, min(STAGGER, deadline - asyncio.get_running_loop().time()))
            if winner is not None:
                return winner
        while winner is None and any(not t.done() for t in tasks):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            winner = await _first(tasks, left)
        return winner
    finally:
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is None:
                if task.result() is not winner:
                    task.result().abort()
            else:
                task.cancel()


async def _first(tasks: list[asyncio.Task[TlsStream]], timeout: float) -> TlsStream | None:
    """A stream from the first task that succeeded within timeout, if any."""
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is None:
            return task.result()
    waiting = [t for t in tasks if not t.done()]
    if not waiting or timeout <= 0:
        return None
    end = asyncio.get_running_loop().time() + timeout
    while waiting:
        left = end - asyncio.get_running_loop().time()
        if left <= 0:
            return None
        done, _ = await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is None:
                return task.result()
            with contextlib.suppress(BaseException):
                log.info("fast lane: %s", task.exception())
        waiting = [t for t in waiting if not t.done()]
    return None
