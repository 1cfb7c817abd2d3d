"""Reliable control messages over real data channels, across a link that dies and a new one."""

from __future__ import annotations

import asyncio
from typing import Any

from rassist.transport.channel import MessageChannel
from rassist.transport.peer import Peer
from rassist.transport.reliable_link import ReliableLink

WAIT = 30.0


async def link() -> tuple[Peer, Peer]:
    host, join = Peer(), Peer()
    await host.accept(await join.answer(await host.offer()))
    await asyncio.gather(host.wait_open(WAIT), join.wait_open(WAIT))
    return host, join


async def until(check, timeout: float = WAIT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def attach(rl: ReliableLink, peer: Peer, peer_ack: int | None = None) -> MessageChannel:
    channel = MessageChannel(peer, "ctl")
    rl.attach(channel, peer_ack)
    channel.start()
    return channel


async def test_nothing_lost_or_duplicated_across_a_new_link():
    got: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    a, b = ReliableLink(got["a"].append), ReliableLink(got["b"].append)
    sent: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}

    def say(side: str, rl: ReliableLink, n: int) -> None:
        for _ in range(n):
            msg = {"t": "chat", "text": f"{side}{len(sent[side])}"}
            sent[side].append(msg)
            rl.send(msg)

    host, join = await link()
    attach(a, host), attach(b, join)
    say("a", a, 5)
    say("b", b, 3)
    await until(lambda: len(got["b"]) == 5 and len(got["a"]) == 3)
    say("a", a, 3)  # in flight as the link dies: some may arrive, their acks may not
    await host.close()
    await join.close()
    a.detach(), b.detach()
    say("a", a, 4)  # during the outage: kept
    say("b", b, 2)
    assert a.reliable.unacked >= 4

    host, join = await link()  # the resumed link; the acks travel in the sealed offer/answer
    a_ack, b_ack = a.ack, b.ack
    attach(a, host, peer_ack=b_ack), attach(b, join, peer_ack=a_ack)
    await until(lambda: len(got["b"]) == len(sent["a"]) and len(got["a"]) == len(sent["b"]))
    await until(lambda: a.reliable.unacked == 0 and b.reliable.unacked == 0)
    assert got["b"] == sent["a"] and got["a"] == sent["b"]
    say("a", a, 1)
    await until(lambda: len(got["b"]) == len(sent["a"]))
    assert got["b"] == sent["a"] and a.rejected == b.rejected == 0
    await host.close()
    await join.close()


async def test_hostile_frames_are_counted_and_dropped():
    got: list[dict[str, Any]] = []
    a, b = ReliableLink(got.append), ReliableLink(lambda m: None)
    host, join = await link()
    attach(a, host)
    channel = attach(b, join)
    for frame in ({"t": "rel", "n": "1", "a": 0, "m": {}}, {"t": "ack", "a": 99}, {"t": "rel", "n": 1, "a": 0}):
        channel.send(frame)
    channel.send({"t": "rel", "n": 1, "a": 0, "m": {"t": "chat", "text": "fine"}})
    await until(lambda: got)
    assert got == [{"t": "chat", "text": "fine"}] and a.rejected == 3
    await host.close()
    await join.close()
