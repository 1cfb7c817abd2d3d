"""In-process plumbing for the transfer tests: a real pinned TLS connection on loopback, and
two real aiortc peers connected to each other (no rendezvous), each with a Session."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from rassist.transfer import lane
from rassist.transfer.tlscert import new_identity
from rassist.transfer.tlsstream import TlsStream
from tests.sessions import Events, close_sessions, session_pair  # noqa: F401 (used by the tests)


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
