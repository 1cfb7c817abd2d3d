"""A node killed (SIGKILL) between pairing steps: its clients resume on another node and carry on.
Real redis-server, real `rassist server --redis` processes, the real client."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rassist.errors import ConnectionLost
from rassist.protocol import rendezvous_resume as rr
from rassist.rendezvous.client import PeerGone, RendezvousClient
from rassist.rendezvous.server import RendezvousServer
from tests.redis_server import cluster, redis_server, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def kill(proc) -> None:  # type: ignore[no-untyped-def]
    proc.send_signal(signal.SIGKILL)
    proc.wait()


async def pair(a: str, b: str, urls: list[str]) -> tuple[RendezvousClient, RendezvousClient]:
    host = await RendezvousClient.connect(a, 5, urls)
    nameplate = await host.allocate()
    joiner = await RendezvousClient.connect(b, 5, urls)
    await joiner.claim(nameplate)
    await host.wait_joined(5)
    return host, joiner


async def test_a_paired_host_whose_node_dies_carries_on_through_the_other(redis_url: str) -> None:
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host, joiner = await pair(a, b, [a, b])
        await joiner.send(b"spake2 from the joiner")
        assert await host.receive() == b"spake2 from the joiner"
        kill(node_a)
        # Sent while the host is away: kept in Redis, delivered once it is back.
        await joiner.send(b"sealed hello")
        await joiner.send(b"sealed offer")
        # Written into a socket whose far end is gone (or refused): either way the host finds
        # out, resumes on b, and sends again what the server says it never took.
        await host.send(b"spake2 from the host")
        assert await host.receive() == b"sealed hello"
        assert host.url == b and host.resume.count == 1
        assert await host.receive() == b"sealed offer"
        assert await joiner.receive() == b"spake2 from the host"
        await joiner.send(b"after")
        assert await host.receive() == b"after"  # nothing twice
        await host.close()
        with pytest.raises(PeerGone):
            await asyncio.wait_for(joiner.receive(), 10)
        await joiner.close()


async def test_a_joiner_whose_node_dies_after_a_claim_that_carried_its_first_message(redis_url: str) -> None:
    # The message relayed with the claim is not one of the joiner's numbered sends: after a
    # resume the server's count of them must match the joiner's, or its next send is lost.
    with cluster(redis_url) as [(node_a, a), (node_b, b)]:
        host = await RendezvousClient.connect(a, 5, [a, b])
        nameplate = await host.allocate()
        joiner = await RendezvousClient.connect(b, 5, [b, a])
        assert await joiner.claim(nameplate, first=b"spake2 from the joiner") is True
        await host.wait_joined(5)
        assert await host.receive() == b"spake2 from the joiner"
        kill(node_b)
        await joiner.send(b"sealed hello")  # into the dead socket: sent again after the resume
        await host.send(b"spake2 from the host")
        assert await asyncio.wait_for(joiner.receive(), 10) == b"spake2 from the host"  # resumes
        assert joiner.url == a and joiner.resume.count == 1
        assert await asyncio.wait_for(host.receive(), 10) == b"sealed hello"
        for client in (host, joiner):
            await client.close()


async def test_a_waiting_host_keeps_its_nameplate_when_its_node_dies(redis_url: str) -> None:
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host = await RendezvousClient.connect(a, 5, [a, b])
        nameplate = await host.allocate()
        kill(node_a)
        # The joiner comes before the host noticed: it pairs with the host that is on its way back.
        joiner = await RendezvousClient.connect(b, 5, [b])
        await joiner.claim(nameplate)
        await joiner.send(b"spake2 from the joiner")
        await host.wait_joined(10)  # resumes, hears it was joined meanwhile
        assert host.resume.count == 1
        assert await host.receive() == b"spake2 from the joiner"
        await host.send(b"spake2 from the host")
        assert await joiner.receive() == b"spake2 from the host"
        for client in (host, joiner):
            await client.close()


async def test_a_host_that_resumes_first_is_then_claimed_on_the_live_node(redis_url: str) -> None:
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host = await RendezvousClient.connect(a, 5, [a, b])
        nameplate = await host.allocate()
        waiting = asyncio.ensure_future(host.wait_joined(15))
        await asyncio.sleep(0.2)
        kill(node_a)
        await asyncio.sleep(1.0)  # the host is back, on b
        joiner = await RendezvousClient.connect(b, 5, [b])
        await joiner.claim(nameplate)
        await waiting
        await joiner.send(b"one")
        assert await host.receive() == b"one"
        for client in (host, joiner):
            await client.close()


async def test_a_joiner_whose_node_dies_after_its_claim_carries_on(redis_url: str) -> None:
    with cluster(redis_url) as [(node_a, a), (node_b, b)]:
        host, joiner = await pair(a, b, [b, a])
        kill(node_b)  # the joiner's node, between the claim and its first message
        await joiner.send(b"spake2 from the joiner")
        await host.send(b"sealed")
        assert await joiner.receive() == b"sealed"
        assert joiner.url == a
        assert await host.receive() == b"spake2 from the joiner"
        for client in (host, joiner):
            await client.close()


async def test_both_sides_on_the_dying_node_resume(redis_url: str) -> None:
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host, joiner = await pair(a, a, [a, b])
        await joiner.send(b"before")
        kill(node_a)
        await joiner.send(b"during")
        await host.send(b"from the host")
        # Each finds out when it reads, resumes on b, and gets what the other sent meanwhile.
        async def host_reads() -> list[bytes]:
            return [await host.receive(), await host.receive()]

        got = await asyncio.wait_for(asyncio.gather(joiner.receive(), host_reads()), 20)
        assert got == [b"from the host", [b"before", b"during"]]
        assert host.resume.count == joiner.resume.count == 1
        for client in (host, joiner):
            await client.close()


async def test_a_client_with_only_the_dead_node_fails_with_connection_lost(redis_url: str) -> None:
    with cluster(redis_url, 2, "--resume-window", "2") as [(node_a, a), (_, b)]:
        host, joiner = await pair(a, b, [a])
        kill(node_a)
        with pytest.raises(ConnectionLost, match="no other node took the connection over"):
            await host.receive()
        with pytest.raises(PeerGone):  # its partner hears of it once the window is over
            await asyncio.wait_for(joiner.receive(), 15)
        await joiner.close()


async def raw_resume(url: str, **fields: object) -> dict:
    async with connect(url) as ws:
        await ws.send(json.dumps({"op": "resume", "have": 0, **fields}))
        return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def test_a_forged_token_or_a_wrong_secret_is_refused(redis_url: str) -> None:
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host = await RendezvousClient.connect(a, 5, [a, b])
        await host.allocate()
        token, secret = host.resume.token, host.resume.secret
        assert token and secret
        key = rr.verifier(rr.new_secret())
        forged = await raw_resume(b, token=rr.new_token(), secret=secret, key=key)
        assert forged["op"] == "error" and forged["kind"] == "resume-refused"
        wrong = await raw_resume(b, token=token, secret=rr.new_secret(), key=key)
        assert wrong["kind"] == "resume-refused"
        with pytest.raises(ConnectionClosed):  # a malformed secret breaks the protocol
            await raw_resume(b, token=token, secret="x" * 10, key=key)
        # The token alone (as a log or Redis would show it) is worth nothing; the real client
        # still resumes after those attempts, once.
        kill(node_a)
        stolen = await raw_resume(b, token=token, secret=secret, key=key)  # the secret, stolen
        assert stolen["op"] == "resumed"
        replay = await raw_resume(b, token=token, secret=secret, key=key)  # single use
        assert replay["kind"] == "resume-refused"
        await host.close()


async def test_a_token_is_refused_after_the_window(redis_url: str) -> None:
    with cluster(redis_url, 2, "--resume-window", "1") as [(node_a, a), (_, b)]:
        host = await RendezvousClient.connect(a, 5, [a, b])
        await host.allocate()
        kill(node_a)
        await asyncio.sleep(5)  # heartbeat (3 s) and window (1 s) over
        late = await raw_resume(b, token=host.resume.token, secret=host.resume.secret,
                                key=rr.verifier(rr.new_secret()))
        assert late["kind"] == "resume-refused" and "too late" in late["message"]


async def test_a_connection_that_left_cleanly_cannot_be_resumed(redis_url: str) -> None:
    with cluster(redis_url) as [(_, a), (_, b)]:
        host = await RendezvousClient.connect(a, 5, [a, b])
        await host.allocate()
        token, secret = host.resume.token, host.resume.secret
        await host.close()
        await asyncio.sleep(0.3)
        again = await raw_resume(b, token=token, secret=secret, key=rr.verifier(rr.new_secret()))
        assert again["kind"] == "resume-refused"


async def test_without_redis_there_is_no_token_and_a_drop_ends_at_once() -> None:
    server = RendezvousServer()
    running = await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
    host = await RendezvousClient.connect(url, 5, [url])
    await host.allocate()
    assert host.resume.token == ""
    running.close()
    await running.wait_closed()
    started = asyncio.get_running_loop().time()
    with pytest.raises(ConnectionLost):
        await host.wait_joined(10)
    assert asyncio.get_running_loop().time() - started < 5


async def test_a_node_stopped_with_ctrl_c_hands_its_connections_over(redis_url: str) -> None:
    """A restart (SIGINT, as a service manager or Ctrl-C sends) is a death the node sees coming:
    its clients resume elsewhere all the same."""
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host, joiner = await pair(a, b, [a, b])
        node_a.send_signal(signal.SIGINT)
        await asyncio.to_thread(node_a.wait, 30)  # it closes its websockets: our clients answer
        await joiner.send(b"while it restarts")
        assert await host.receive() == b"while it restarts"
        assert host.url == b and host.resume.count == 1
        for client in (host, joiner):
            await client.close()


async def test_what_is_kept_for_an_absent_side_is_bounded(redis_url: str) -> None:
    """More than Redis keeps for a connection (16 frames, 256 KiB) piles up while it is away:
    it cannot be resumed without a gap, so it is not, and says so (exit 6)."""
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host, joiner = await pair(a, b, [a, b])
        kill(node_a)
        for i in range(12):
            await joiner.send(bytes([i]) * 40_000)
        await asyncio.sleep(0.5)
        with pytest.raises(ConnectionLost, match="expired before it came back"):
            await host.receive()
        await joiner.close()


async def test_a_reader_cancelled_while_it_resumes_does_not_cut_the_resume_short(redis_url: str) -> None:
    """Pairing listens to the relay while it waits for other work and cancels that listening
    when the work is done: a resume under way goes on, and the next send uses it."""
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        host, joiner = await pair(a, b, [a, b])
        listening = asyncio.ensure_future(host.receive())
        await asyncio.sleep(0.1)
        kill(node_a)
        await asyncio.sleep(0.02)  # the reader has seen the drop and started to resume
        listening.cancel()
        await host.send(b"decision")
        assert await joiner.receive() == b"decision"
        await joiner.send(b"answer")
        assert await host.receive() == b"answer"
        assert host.resume.count == 1
        for client in (host, joiner):
            await client.close()


async def test_a_joiner_waiting_for_a_preset_code_keeps_its_place(redis_url: str) -> None:
    with cluster(redis_url) as [(node_a, a), (_, b)]:
        joiner = await RendezvousClient.connect(a, 5, [a, b])
        claimed = asyncio.ensure_future(joiner.claim("4242", wait=20))
        await asyncio.sleep(0.3)  # it waits on a for a host with that code
        kill(node_a)
        await asyncio.sleep(0.3)
        host = await RendezvousClient.connect(b, 5, [b])
        assert await host.allocate("4242") == "4242"
        await host.wait_joined(10)
        await asyncio.wait_for(claimed, 10)
        assert joiner.resume.count == 1
        await host.send(b"hello")
        assert await joiner.receive() == b"hello"
        for client in (host, joiner):
            await client.close()


def test_several_servers_are_given_with_commas() -> None:
    from rassist.errors import UsageError
    from rassist.pairing import server_urls

    assert server_urls("ws://a:4477, ws://b:4477,") == ["ws://a:4477", "ws://b:4477"]
    assert server_urls("ws://a:4477") == ["ws://a:4477"]
    with pytest.raises(UsageError):
        server_urls(" , ")
