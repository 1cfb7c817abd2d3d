"""In-process plumbing for the transfer tests: a real pinned TLS connection on loopback, and
two real aiortc peers connected to each other (no rendezvous), each with a Session."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

from rassist.session import Session
from rassist.transfer import lane
from rassist.transfer.tlscert import new_identity
from rassist.transfer.tlsstream import TlsStream
from rassist.transport.peer import Peer


class Events:
    """An emit() that records events, and waits for them."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    def __call__(self, event: str, **fields: Any) -> None:
        self.items.append((event, fields))
        self._changed.set()

    def named(self, name: str) -> list[dict[str, Any]]:
        return [fields for event, fields in self.items if event == name]

    async def wait(self, name: str, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for fields in self.named(name):
                    if all(fields.get(k) == v for k, v in match.items()):
                        return fields
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)


async def tls_pair() -> tuple[TlsStream, TlsStream]:
    """(server side, client side) of one pinned TLS 1.3 connection on 127.0.0.1."""
    server_id, client_id = new_identity(), new_identity()
    listener = lane.Listener(server_id)
    listener.open(["127.0.0.1"])
    found: asyncio.Queue[TlsStream] = asyncio.Queue()
    accepting = asyncio.ensure_future(listener.connections(client_id.cert_pem, found))
    try:
        client = await lane.connect(listener.addrs, client_id, server_id.cert_pem)
        assert client is not None
        server = await asyncio.wait_for(found.get(), 10)
    finally:
        accepting.cancel()
        listener.close()
    return server, client


async def session_pair(host_features: list[Any], join_features: list[Any],
                       granted: set[str] | None = None) -> tuple[Session, Session, Events, Events]:
    """Two connected sessions in this process: host and joiner."""
    host_peer, join_peer = Peer(), Peer()
    for feature in host_features:
        feature.prepare(host_peer.pc, "host")
    offer = await host_peer.offer()
    for feature in join_features:
        feature.prepare(join_peer.pc, "join")
    await host_peer.accept(await join_peer.answer(offer))
    await asyncio.gather(host_peer.wait_open(15), join_peer.wait_open(15))
    host_events, join_events = Events(), Events()
    perms = {"files"} if granted is None else granted
    host = Session("host", host_peer, "joiner", set(perms), host_events, host_features)
    join = Session("join", join_peer, "host", set(perms), join_events, join_features)
    await host.start()
    await join.start()
    return host, join, host_events, join_events


async def close_sessions(*sessions: Session) -> None:
    for session in sessions:
        await session.close("quit")
    for session in sessions:
        try:
            await asyncio.wait_for(session.run(), 10)
        except Exception:  # noqa: BLE001 - a lost connection at the end is fine here
            pass


def random_file(path: Path, size: int) -> str:
    """Write `size` random bytes; returns their SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hasher = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            f.write(chunk)
            hasher.update(chunk)
            left -= len(chunk)
    return hasher.hexdigest()


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()
