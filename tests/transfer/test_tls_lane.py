"""The fast lane on loopback: pinned TLS 1.3 both ways, and the threaded stream under load."""

import asyncio
import hashlib
import os
import socket
import ssl

import pytest

from rassist.transfer import lane, tlsstream
from rassist.transfer.stream import StreamClosed
from rassist.transfer.tlscert import client_context, new_identity
from tests.transfer.helpers import tls_pair


async def test_pinned_certificates_connect():
    server, client = await tls_pair()
    try:
        await client.write(b"ping")
        assert bytes(await server.read()) == b"ping"
        await server.write(b"pong")
        assert bytes(await client.read()) == b"pong"
    finally:
        server.abort()
        client.abort()


async def test_the_wrong_certificate_gets_no_connection():
    server_id, client_id, stranger = new_identity(), new_identity(), new_identity()
    listener = lane.Listener(server_id)
    listener.open(["127.0.0.1"])
    found: asyncio.Queue = asyncio.Queue()
    accepting = asyncio.ensure_future(listener.connections(client_id.cert_pem, found))
    try:
        # A client that pins some other server certificate refuses ours...
        assert await lane.connect(listener.addrs, client_id, stranger.cert_pem, budget=2) is None
        # ...and a client with the wrong certificate of its own is refused by the listener.
        assert await lane.connect(listener.addrs, stranger, server_id.cert_pem, budget=2) is None
        assert found.empty()
    finally:
        accepting.cancel()
        listener.close()


async def test_a_client_without_a_certificate_is_refused():
    server_id, client_id = new_identity(), new_identity()
    listener = lane.Listener(server_id)
    listener.open(["127.0.0.1"])
    found: asyncio.Queue = asyncio.Queue()
    accepting = asyncio.ensure_future(listener.connections(client_id.cert_pem, found))

    def anonymous() -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(listener.addrs[0], timeout=5) as raw:
            with ctx.wrap_socket(raw) as tls:
                tls.sendall(b"hello?")
                tls.recv(10)  # TLS 1.3 reports the missing certificate after the handshake

    try:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            await asyncio.to_thread(anonymous)
        assert found.empty()
    finally:
        accepting.cancel()
        listener.close()


async def test_unreachable_addresses_give_up_within_the_budget():
    me, peer = new_identity(), new_identity()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: refused at once
    assert await lane.connect([("127.0.0.1", port)], me, peer.cert_pem, budget=1) is None


async def test_both_directions_at_once_with_bounded_buffers():
    server, client = await tls_pair()
    size = 24 << 20
    blob_a, blob_b = os.urandom(1 << 20), os.urandom(1 << 20)

    async def pump_out(stream, blob):
        for _ in range(size // len(blob)):
            await stream.write(blob)

    async def pump_in(stream):
        hasher = hashlib.sha256()
        total = 0
        while total < size:
            chunk = await stream.read()
            assert chunk, "early end of stream"
            hasher.update(chunk)
            total += len(chunk)
        return total, hasher.hexdigest()

    expected_a = hashlib.sha256(blob_a * (size // len(blob_a))).hexdigest()
    expected_b = hashlib.sha256(blob_b * (size // len(blob_b))).hexdigest()
    results = await asyncio.wait_for(asyncio.gather(
        pump_out(client, blob_a), pump_out(server, blob_b), pump_in(server), pump_in(client)), 60)
    assert results[2] == (size, expected_a)
    assert results[3] == (size, expected_b)
    await asyncio.wait_for(asyncio.gather(client.aclose(), server.aclose()), 10)
    assert await client.read() == b"" and await server.read() == b""


async def test_a_broken_connection_is_an_error_not_a_hang():
    server, client = await tls_pair()
    server.abort()
    with pytest.raises(StreamClosed):
        for _ in range(200):  # the reset arrives after a few writes at most
            await client.write(b"x" * (1 << 20))
    with pytest.raises(StreamClosed):
        while await client.read():
            pass


def test_contexts_require_tls13_and_a_certificate():
    me, peer = new_identity(), new_identity()
    ctx = client_context(me, peer.cert_pem)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert me.fingerprint != peer.fingerprint and len(me.fingerprint) == 64


def test_local_addresses_put_loopback_last():
    addrs = lane.local_addresses(["192.0.2.77", "not an ip", "fe80::1"])
    assert addrs[0] == "192.0.2.77"
    assert "127.0.0.1" in addrs and "fe80::1" not in addrs
    loopback_at = addrs.index("127.0.0.1")
    assert all(a.startswith(("127.", "::1")) for a in addrs[loopback_at:])


async def test_read_buffers_are_reused_and_each_chunk_is_intact_until_the_next_read():
    server, client = await tls_pair()
    data = os.urandom(24 << 20)

    async def pump_out():
        for start in range(0, len(data), 1 << 20):
            await client.write(data[start:start + (1 << 20)])

    sending = asyncio.ensure_future(pump_out())
    got, buffers = 0, set()
    while got < len(data):
        chunk = await server.read()
        assert chunk, "early end of stream"
        await asyncio.sleep(0.002)  # a slow consumer: the thread reads on meanwhile
        assert bytes(chunk) == data[got:got + len(chunk)]
        if isinstance(chunk, memoryview):
            buffers.add(id(chunk.obj))
        got += len(chunk)
    await sending
    # In flight at most IN_CAP of batches, plus the one lent out and the spares.
    assert 0 < len(buffers) <= tlsstream.IN_CAP // tlsstream.READ_BATCH + tlsstream.FREE_BUFFERS + 2
    await asyncio.wait_for(asyncio.gather(client.aclose(), server.aclose()), 10)


async def test_a_trickle_is_copied_out_and_does_not_pin_a_batch_buffer_per_chunk():
    server, client = await tls_pair()
    for i in range(50):
        await client.write(bytes([i]) * 1000)
        await asyncio.sleep(0.002)  # separate records, separate reads
    await asyncio.sleep(0.2)
    chunks = []
    while sum(len(c) for c in chunks) < 50_000:
        chunks.append(await server.read())
    assert all(isinstance(c, bytes) for c in chunks)  # small reads: no 1 MiB buffer each
    assert b"".join(chunks) == b"".join(bytes([i]) * 1000 for i in range(50))
    await asyncio.wait_for(asyncio.gather(client.aclose(), server.aclose()), 10)
