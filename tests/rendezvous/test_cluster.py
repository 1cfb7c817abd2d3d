"""Several rendezvous nodes sharing one code space through a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rassist.errors import AuthError
from rassist.rendezvous.client import PeerGone, RendezvousClient
from rassist.rendezvous.server import Limits, RendezvousServer
from tests.redis_server import redis_server, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A fresh Redis per test: a killed node's entries must not leak into the next test."""
    with redis_server() as url:
        yield url


@contextlib.asynccontextmanager
async def nodes(redis_url: str, count: int = 2, **limits: float) -> AsyncIterator[list[str]]:
    """`count` in-process nodes on one Redis; yields their URLs."""
    servers, running = [], []
    for _ in range(count):
        node = RendezvousServer(redis=redis_url, limits=Limits(**limits), metrics_path=True)
        servers.append(node)
        running.append(await node.start("127.0.0.1", 0))
    try:
        yield [f"ws://127.0.0.1:{r.sockets[0].getsockname()[1]}" for r in running]
    finally:
        for r, node in zip(running, servers):
            r.close()
            await r.wait_closed()
            await node.close()


async def test_a_host_on_one_node_pairs_with_a_joiner_on_another(redis_url: str) -> None:
    async with nodes(redis_url) as (a, b):
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        joiner = await RendezvousClient.connect(b, 5)
        await joiner.claim(nameplate)
        await host.wait_joined(5)
        await joiner.send(b"\x00spake")
        assert await host.receive() == b"\x00spake"
        await host.send(b"sealed")
        assert await joiner.receive() == b"sealed"
        await host.close()
        with pytest.raises(PeerGone):  # the other node tells the joiner its host left
            await asyncio.wait_for(joiner.receive(), 5)
        await joiner.close()


async def test_a_claims_first_message_reaches_a_host_on_another_node(redis_url: str) -> None:
    async with nodes(redis_url) as (a, b):
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        joiner = await RendezvousClient.connect(b, 5)
        assert await joiner.claim(nameplate, first=b"spake2 message") is True
        await host.wait_joined(5)
        assert await host.receive() == b"spake2 message"
        await host.close()
        await joiner.close()


async def test_a_preset_nameplate_waits_across_nodes(redis_url: str) -> None:
    async with nodes(redis_url) as (a, b):
        joiner = await RendezvousClient.connect(b, 5)
        claimed = asyncio.ensure_future(joiner.claim("4242", wait=5))
        await asyncio.sleep(0.3)  # the joiner is first
        host = await RendezvousClient.connect(a, 5)
        assert await host.allocate("4242") == "4242"
        await host.wait_joined(5)
        await claimed
        await joiner.send(b"hello")
        assert await host.receive() == b"hello"
        await host.close()
        await joiner.close()


async def test_one_claim_per_nameplate_across_nodes(redis_url: str) -> None:
    async with nodes(redis_url) as (a, b):
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        guessers = [await RendezvousClient.connect(url, 5) for url in (a, b, a, b)]
        results = await asyncio.gather(*(g.claim(nameplate) for g in guessers), return_exceptions=True)
        assert sum(r is False for r in results) == 1  # paired (False: no first message to relay)
        assert all(isinstance(r, AuthError) for r in results if r is not False)
        for client in (host, *guessers):
            await client.close()


async def test_a_used_nameplate_is_gone_on_every_node(redis_url: str) -> None:
    async with nodes(redis_url) as (a, b):
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        wrong = await RendezvousClient.connect(a, 5)
        await wrong.claim(nameplate)  # a guess (its words are wrong: SPAKE2 would fail)
        await wrong.close()
        second = await RendezvousClient.connect(b, 5)
        with pytest.raises(AuthError, match="nobody waiting|used a moment ago"):
            await second.claim(nameplate)
        for client in (host, second):
            await client.close()


async def test_the_address_cap_counts_every_node(redis_url: str) -> None:
    async with nodes(redis_url, connections_per_ip=4) as (a, b):
        kept = [await connect(url) for url in (a, b, a, b)]
        await asyncio.sleep(0.3)  # each node has counted its own in Redis
        for url in (a, b):
            async with connect(url) as extra:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(extra.recv(), 5)
                assert "too many connections" in closed.value.rcvd.reason
        await kept[0].close()
        await asyncio.sleep(0.2)
        async with connect(a) as again:  # a free place again
            await again.send('{"op":"ping"}')
            assert "pong" in await asyncio.wait_for(again.recv(), 5)
        for ws in kept[1:]:
            await ws.close()


async def test_the_flood_limit_counts_every_node(redis_url: str) -> None:
    async with nodes(redis_url, messages_per_ip=30) as (a, b):
        while time.time() % 1 > 0.3:  # all of it inside one second of the shared counter
            await asyncio.sleep(0.02)
        one, two = await connect(a), await connect(b)
        for ws in (one, two):  # 20 each: under the limit alone, over it together
            for _ in range(20):
                await ws.send('{"op":"ping"}')
        reasons = []
        for ws in (one, two):
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            except ConnectionClosed as exc:
                reasons.append(exc.rcvd.reason if exc.rcvd else "")
            except TimeoutError:
                reasons.append("still open")
        assert "rate limit exceeded" in reasons, reasons


async def test_metrics_are_prometheus_text(redis_url: str) -> None:
    async with nodes(redis_url) as (a, b):
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        joiner = await RendezvousClient.connect(b, 5)
        await joiner.claim(nameplate)
        await host.wait_joined(5)
        guess = await RendezvousClient.connect(b, 5)
        with pytest.raises(AuthError):
            await guess.claim("999999")
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(a.replace("ws:", "http:") + "/metrics",
                                                                      timeout=5).read().decode())
        assert "# TYPE rassist_pairings_total counter" in text
        assert 'rassist_connections{node="' in text
        other = await asyncio.to_thread(lambda: urllib.request.urlopen(b.replace("ws:", "http:") + "/metrics",
                                                                       timeout=5).read().decode())
        assert any(line.startswith("rassist_pairings_total{") and line.endswith(" 1") for line in other.splitlines())
        assert any(line.startswith("rassist_failed_claims_total{") and line.endswith(" 1")
                   for line in other.splitlines())
        for client in (host, joiner, guess):
            await client.close()


def start_node(redis_url: str, window: float = 2.0) -> tuple[subprocess.Popen[str], str]:
    """A node in its own process (so that it can be killed), with a short resume window."""
    proc = subprocess.Popen([sys.executable, "-m", "rassist", "server", "--host", "127.0.0.1", "--port", "0",
                             "--redis", redis_url, "--resume-window", str(window)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("ws://"), proc.stderr.read() if proc.stderr else ""
    return proc, url


async def test_a_node_killed_mid_pairing_is_told_to_the_other_side(redis_url: str) -> None:
    """SIGKILL: the dead node can say nothing. The host, whose only URL is the dead node, cannot
    come back; once the resume window is over the survivor tells its own client peer-gone,
    which the commands report as connection-lost (exit 6)."""
    node_a, a = start_node(redis_url)
    node_b, b = start_node(redis_url)
    try:
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        joiner = await RendezvousClient.connect(b, 5)
        await joiner.claim(nameplate)
        await host.wait_joined(5)
        await joiner.send(b"step one")
        assert await host.receive() == b"step one"
        node_a.send_signal(signal.SIGKILL)
        node_a.wait()
        started = time.monotonic()
        with pytest.raises(PeerGone):
            await asyncio.wait_for(joiner.receive(), 15)
        assert time.monotonic() - started < 10
        await joiner.close()
    finally:
        for proc in (node_a, node_b):
            proc.kill()
            proc.wait()


async def test_a_dead_nodes_host_is_not_claimable(redis_url: str) -> None:
    node_a, a = start_node(redis_url)
    node_b, b = start_node(redis_url)
    try:
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        node_a.send_signal(signal.SIGKILL)
        node_a.wait()
        await asyncio.sleep(6)  # past the node's heartbeat and its 2 s resume window
        joiner = await RendezvousClient.connect(b, 5)
        with pytest.raises(AuthError):
            await joiner.claim(nameplate)
        await joiner.close()
    finally:
        for proc in (node_a, node_b):
            proc.kill()
            proc.wait()


async def test_a_spent_nameplate_says_so_on_every_node(redis_url: str) -> None:
    async with nodes(redis_url) as (a, b):
        host = await RendezvousClient.connect(a, 5)
        nameplate = await host.allocate()
        guess = await RendezvousClient.connect(a, 5)
        await guess.claim(nameplate)
        await host.wait_joined(5)
        await guess.close()  # the pairing ends (as after a wrong guess): the nameplate is spent
        assert await host.allocate() != nameplate  # the host's fresh code gets a new number
        late = await RendezvousClient.connect(b, 5)
        with pytest.raises(AuthError, match="used"):
            await late.claim(nameplate, wait=5)  # told at once, not left waiting
        for client in (host, late):
            await client.close()
