"""Resuming over a fresh peer connection through a real rendezvous server (`rassist server`)."""

from __future__ import annotations

import asyncio
import os
import weakref

import pytest

from rassist.crypto.resume import resume_secret
from rassist.errors import ConnectionLost
from rassist.protocol.resume import ResumeState, Send
from rassist.rendezvous.client import RendezvousClient
from rassist.transport.peer import Peer
from rassist.transport.reconnect import Resumed, reconnect

WAIT = 30.0


_inbox: weakref.WeakKeyDictionary[Peer, asyncio.Queue[str | bytes]] = weakref.WeakKeyDictionary()


async def talk(a: Peer, b: Peer, text: str) -> None:
    """`text` from a to b over the control channel, and back."""
    for sender, receiver in ((a, b), (b, a)):
        if receiver not in _inbox:
            queue = _inbox[receiver] = asyncio.Queue()
            receiver.listen("ctl", queue.put_nowait)
        sender.channels["ctl"].send(text)
        assert await asyncio.wait_for(_inbox[receiver].get(), WAIT) == text


async def first_link() -> None:
    """The session's first connection: up, used, then gone (as after a long outage)."""
    host, join = Peer(), Peer()
    await host.accept(await join.answer(await host.offer()))
    await asyncio.gather(host.wait_open(WAIT), join.wait_open(WAIT))
    await talk(host, join, "before")
    await host.close()
    await join.close()


def preparer(calls: list[str], role: str):
    def prepare(peer: Peer) -> None:
        assert peer.pc.connectionState == "new"  # before the offer or answer
        calls.append(role)
    return prepare


async def test_two_sides_resume_and_a_stranger_cannot_nor_disturbs_them(server):
    secret = resume_secret(os.urandom(32))
    await first_link()
    host, join = ResumeState(secret, "host"), ResumeState(secret, "join")
    calls: list[str] = []
    strangers = [asyncio.ensure_future(reconnect(ResumeState(resume_secret(os.urandom(32)), role), [server],
                                                 preparer(calls, "stranger"), window=6))
                 for role in ("join", "host")]
    await asyncio.sleep(0.5)  # the strangers wait first
    host_r, join_r = await asyncio.gather(
        reconnect(host, [server], preparer(calls, "host"), ack=3, granted=("view", "control"), window=60),
        reconnect(join, [server], preparer(calls, "join"), ack=5, window=60))
    assert isinstance(host_r, Resumed) and host_r.generation == join_r.generation == 1
    assert (host.generation, join.generation) == (1, 1)
    assert join_r.granted == ("view", "control")
    assert (host_r.peer_ack, join_r.peer_ack) == (5, 3)
    await talk(host_r.peer, join_r.peer, "after")
    for task in strangers:
        with pytest.raises(ConnectionLost, match="within 6 s"):
            await task
    assert "stranger" not in calls  # they never met anyone: no peer connection was even made
    await talk(host_r.peer, join_r.peer, "still fine")

    # The new link dies too: the next generation resumes, at a new mailbox.
    await host_r.peer.close()
    await join_r.peer.close()
    again = await asyncio.gather(reconnect(host, [server], preparer(calls, "host"), window=60),
                                 reconnect(join, [server], preparer(calls, "join"), window=60))
    assert [r.generation for r in again] == [2, 2]
    await talk(again[0].peer, again[1].peer, "twice")
    for r in again:
        await r.peer.close()


async def test_a_replayed_old_offer_is_refused_and_the_real_host_still_resumes(server):
    """Someone who saw a mailbox id (the rendezvous operator, say) replays an old sealed offer
    to the joiner before the host comes: refused, and the joiner carries on waiting."""
    secret = resume_secret(os.urandom(32))
    host, join = ResumeState(secret, "host"), ResumeState(secret, "join")
    # An earlier resume, as recorded on the wire: the sealed offer of generation 1.
    h1, j1 = host.handshake(1), join.handshake(1)
    old_offer = next(a.body for a in h1.offer("v=0 old", 0, ("view",)) if isinstance(a, Send))
    j1.receive(old_offer)
    h1.receive(next(a.body for a in j1.answer("v=0 old answer", 0) if isinstance(a, Send)))
    assert host.generation == join.generation == 1

    attacker = await RendezvousClient.connect(server, 5)

    async def replay() -> None:
        await attacker.meet(join.mailbox(1), 20)  # where a joiner also waits for a lost answer
        await attacker.send(old_offer)
        await asyncio.sleep(1)
        await attacker.close()

    attack = asyncio.ensure_future(replay())
    await asyncio.sleep(0.3)
    errors: list[str | None] = []
    joined = asyncio.ensure_future(reconnect(join, [server], preparer([], "join"), window=60,
                                             on_attempt=lambda left, last: errors.append(last)))
    await asyncio.wait_for(attack, WAIT)
    await asyncio.sleep(0.5)
    host_r = await reconnect(host, [server], preparer([], "host"), window=60)
    join_r = await joined
    assert any(e and "replayed" in e for e in errors), errors
    assert host_r.generation == join_r.generation == 2
    await talk(host_r.peer, join_r.peer, "after the replay")
    for r in (host_r, join_r):
        await r.peer.close()


async def test_the_window_expiring_is_connection_lost():
    secret = resume_secret(os.urandom(32))
    left: list[float] = []
    with pytest.raises(ConnectionLost, match="within 2 s"):
        # Nothing listens there: every attempt fails at once and is retried with backoff.
        await reconnect(ResumeState(secret, "host"), ["ws://127.0.0.1:9"], preparer([], "host"), window=2,
                        on_attempt=lambda s, last: left.append(s))
    assert len(left) >= 2 and left == sorted(left, reverse=True) and left[0] <= 2


async def test_with_the_embedded_server_the_joiner_finds_the_host_again(tmp_path, monkeypatch):
    """No --server: the host keeps its in-process rendezvous and announces it under a name
    derived from the secret; the joiner's remembered URL went stale (the host's address
    changed), the announcement on this machine leads it to the server again."""
    from rassist.crypto.resume import lan_name
    from rassist.rendezvous.embedded import Embedded
    from rassist.transport.reconnect import embedded_urls

    monkeypatch.setenv("RASSIST_REGISTRY", str(tmp_path / "registry"))
    secret = resume_secret(os.urandom(32))
    embedded = await Embedded.start("127.0.0.1")
    try:
        await embedded.announce.publish(lan_name(secret))
        finder = embedded_urls(secret, ["ws://127.0.0.1:9"], lan_wait=0.2)
        assert (await finder())[0] == embedded.url and (await finder())[-1] == "ws://127.0.0.1:9"
        host_r, join_r = await asyncio.gather(
            reconnect(ResumeState(secret, "host"), [embedded.url], preparer([], "host"), window=60),
            reconnect(ResumeState(secret, "join"), finder, preparer([], "join"), window=60))
        await talk(host_r.peer, join_r.peer, "found again")
        for r in (host_r, join_r):
            await r.peer.close()
        assert await embedded_urls(resume_secret(os.urandom(32)), [], lan_wait=0.2)() == []  # another session's name
    finally:
        await embedded.stop()
