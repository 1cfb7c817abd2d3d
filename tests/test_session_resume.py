"""Sessions that survive a dropped link (issue 18, phase 2), over in-process aiortc peers and
an in-process rendezvous: both sides reconnect under the same participant, control messages
sent across the gap arrive once each, a goodbye does not resume, and an expired window ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rassist.errors import ConnectionLost
from rassist.resuming import config
from rassist.rendezvous.server import RendezvousServer
from rassist.session import Session
from rassist.transport.peer import Peer
from tests.sessions import WAIT, Events


class Probe:
    """A feature that records its resume hooks (HostControl's release happens in link_lost)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def prepare(self, pc: Any, role: str) -> None:
        self.calls.append("prepare")

    async def start(self, participant: Any) -> None:
        self.calls.append("start")

    async def link_lost(self) -> None:
        self.calls.append("link_lost")

    async def relink(self, participant: Any) -> None:
        self.calls.append("relink")

    async def stop(self) -> None:
        self.calls.append("stop")


@contextlib.asynccontextmanager
async def rendezvous() -> AsyncIterator[str]:
    server = await RendezvousServer().start("127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def peers() -> tuple[Peer, Peer]:
    host_peer, join_peer = Peer(), Peer()
    await host_peer.accept(await join_peer.answer(await host_peer.offer()))
    await asyncio.gather(host_peer.wait_open(WAIT), join_peer.wait_open(WAIT))
    return host_peer, join_peer


async def sessions(url: str, host_window: float, join_window: float, probes: tuple[Probe, Probe]
                   ) -> tuple[Session, Session, Events, Events]:
    hp, jp = await peers()
    key = os.urandom(32)
    host_events, join_events = Events(), Events()
    host = Session("host", hp, "ann", {"view", "files"}, host_events, [probes[0]], peer_timeout=3.0)
    join = Session("join", jp, "desk", {"view", "files"}, join_events, [probes[1]], peer_timeout=3.0)
    host.first.resume = config(key, "host", [url], host_window, False)
    join.first.resume = config(key, "join", [url], join_window, False)
    await host.start()
    await join.start()
    return host, join, host_events, join_events


async def test_both_sides_resume_and_nothing_is_lost_or_duplicated() -> None:
    probes = (Probe(), Probe())
    async with rendezvous() as url:
        host, join, host_events, join_events = await sessions(url, 60, 60, probes)
        runs = [asyncio.ensure_future(s.run()) for s in (host, join)]
        try:
            join.chat("before")
            await host_events.wait("chat", text="before")
            participant = host.participants["p1"]
            await host.first.peer.close()  # the path drops (both sides see it go)
            await host_events.wait("reconnecting", participant="p1")
            host.chat("during, from the host")
            await join_events.wait("reconnecting")
            join.chat("during, from the joiner")
            await host_events.wait("reconnected", participant="p1")
            await join_events.wait("reconnected")
            await join_events.wait("chat", text="during, from the host")
            await host_events.wait("chat", text="during, from the joiner")
            join.chat("after")
            await host_events.wait("chat", text="after")
            await asyncio.sleep(0.5)
            for events in (host_events, join_events):
                texts = [e["text"] for e in events.named("chat") if e.get("from") != "me"]
                assert len(texts) == len(set(texts)), texts  # none twice
            assert host.participants["p1"] is participant and participant.granted == {"view", "files"}
            assert join.first.granted == {"view", "files"}  # as the host's sealed offer says
            for probe in probes:
                assert probe.calls == ["start", "link_lost", "prepare", "relink"], probe.calls
            assert not runs[0].done() and not runs[1].done()
        finally:
            for session in (join, host):
                await session.close("quit")
            for run in runs:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(run, WAIT)
        assert runs[0].result() == "peer-left" or runs[0].result() == "quit"


async def test_a_goodbye_does_not_resume() -> None:
    async with rendezvous() as url:
        host, join, host_events, join_events = await sessions(url, 60, 60, (Probe(), Probe()))
        runs = [asyncio.ensure_future(s.run()) for s in (host, join)]
        await join.close("quit")
        assert await asyncio.wait_for(runs[0], WAIT) == "peer-left"
        await asyncio.wait_for(runs[1], WAIT)
        assert not host_events.named("reconnecting") and not join_events.named("reconnecting")


async def test_the_window_expiring_ends_with_connection_lost() -> None:
    async with rendezvous() as url:
        host, join, host_events, join_events = await sessions(url, 0, 2, (Probe(), Probe()))
        runs = [asyncio.ensure_future(s.run()) for s in (host, join)]
        await host.first.peer.close()  # the host does not resume (window 0): it ends at once
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(runs[0], WAIT)
        await join_events.wait("reconnecting")
        with pytest.raises(ConnectionLost, match="within 2 s"):
            await asyncio.wait_for(runs[1], WAIT)
        assert not join_events.named("reconnected")


async def test_a_stranger_replaying_an_old_resume_offer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rendezvous (or whoever reads its traffic) keeps the host's sealed offer of the first
    resume and plays it back at the joiner's mailboxes on the next drop: refused each time (an
    answered nonce; another generation's key). The real host then resumes."""
    import rassist.transport.reconnect as reconnect_module
    from rassist.rendezvous.client import PeerGone, RendezvousClient

    sent: list[bytes] = []
    real_send = reconnect_module._send

    async def recording(client: Any, actions: list[Any]) -> None:
        sent.extend(a.body for a in actions if hasattr(a, "body"))
        await real_send(client, actions)

    monkeypatch.setattr(reconnect_module, "_send", recording)
    async with rendezvous() as url:
        host, join, host_events, join_events = await sessions(url, 60, 60, (Probe(), Probe()))
        runs = [asyncio.ensure_future(s.run()) for s in (host, join)]
        try:
            await host.first.peer.close()
            await join_events.wait("reconnected")
            await host_events.wait("reconnected")
            old_offer = sent[0]  # the host's sealed offer of generation 1 (it speaks first)
            assert host.first.resume.state.generation == join.first.resume.state.generation == 1

            gate = asyncio.Event()  # the real host comes back only after the replays
            host_cfg = host.first.resume
            host_urls = host_cfg.urls

            async def later() -> list[str]:
                await gate.wait()
                return list(host_urls)

            host_cfg.urls = later
            await host.first.peer.close()
            await join_events.wait("reconnecting", timeout=WAIT)
            join_state = join.first.resume.state
            assert join_state.generations() == [2, 1]
            for generation in (1, 2):
                stranger = await RendezvousClient.connect(url, 5)
                try:
                    await stranger.meet(join_state.mailbox(generation), 10)
                    await stranger.send(old_offer)
                    with pytest.raises((PeerGone, TimeoutError, ConnectionLost)):
                        await asyncio.wait_for(stranger.receive(), 5)  # no answer: the joiner left
                finally:
                    await stranger.close()
                assert len(join_events.named("reconnected")) == 1
            gate.set()
            for _ in range(int(WAIT * 10)):
                if len(join_events.named("reconnected")) == 2 and len(host_events.named("reconnected")) == 2:
                    break
                await asyncio.sleep(0.1)
            assert len(join_events.named("reconnected")) == 2 and len(host_events.named("reconnected")) == 2
            host.chat("after the replays")
            await join_events.wait("chat", text="after the replays")
            assert join.first.resume.state.generation == 2
        finally:
            for session in (join, host):
                await session.close("quit")
            for run in runs:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(run, WAIT)


async def test_with_several_helpers_an_expired_window_ends_only_that_helper() -> None:
    async with rendezvous() as url:
        hp1, jp1 = await peers()
        hp2, jp2 = await peers()
        key1, key2 = os.urandom(32), os.urandom(32)
        host_events, ann_events, bob_events = Events(), Events(), Events()
        host = Session("host", hp1, "ann", {"view"}, host_events, [], peer_timeout=3.0, max_joiners=2)
        ann = Session("join", jp1, "desk", {"view"}, ann_events, [], peer_timeout=3.0)
        bob = Session("join", jp2, "desk", {"view"}, bob_events, [], peer_timeout=3.0)
        host.first.resume = config(key1, "host", [url], 2, False)
        ann.first.resume = config(key1, "join", [url], 0, False)  # ann does not come back
        await host.start()
        await ann.start()
        await bob.start()
        second = await host.admit(hp2, "bob", {"view"}, [])
        second.resume = config(key2, "host", [url], 60, False)
        bob.first.resume = config(key2, "join", [url], 60, False)
        runs = [asyncio.ensure_future(s.run()) for s in (host, ann, bob)]
        try:
            await jp1.close()
            await host_events.wait("reconnecting", participant="p1")
            left = await host_events.wait("left", participant="p1")
            assert left["reason"] == "connection-lost"
            assert list(host.participants) == ["p2"] and not runs[0].done() and not runs[2].done()
            host.chat("still here")
            await bob_events.wait("chat", text="still here")
            assert not bob_events.named("reconnecting")
        finally:
            for session in (bob, ann, host):
                await session.close("quit")
            for run in runs:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(run, WAIT)


# Which side's bulk channel reports the drop first is the network's choice: a transfer whose
# channel closed before the session noticed the drop (its task failed first) is resumed too.
@pytest.mark.parametrize("closed_first", [(), ("receiver",), ("sender", "receiver")])
async def test_a_transfer_cut_by_the_drop_continues_from_where_it_stopped(tmp_path: Any,
                                                                           closed_first: tuple[str, ...]) -> None:
    import hashlib

    from rassist.transfer.feature import FilesFeature

    data = os.urandom(6 << 20)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    sender = FilesFeature(fast_lane=False, limit_rate=1.5e6)
    receiver = FilesFeature(tmp_path / "in", fast_lane=False)  # asks: {"accept": ID}
    (tmp_path / "in").mkdir()
    async with rendezvous() as url:
        hp, jp = await peers()
        key = os.urandom(32)
        host_events, join_events = Events(), Events()
        host = Session("host", hp, "ann", {"view", "files"}, host_events, [sender], peer_timeout=3.0)
        join = Session("join", jp, "desk", {"view", "files"}, join_events, [receiver], peer_timeout=3.0)
        host.first.resume = config(key, "host", [url], 60, False)
        join.first.resume = config(key, "join", [url], 60, False)
        await host.start()
        await join.start()
        runs = [asyncio.ensure_future(s.run()) for s in (host, join)]
        try:
            await host.handle_command({"send": str(source)})
            offer = await join_events.wait("file-offer", timeout=WAIT)
            await join.handle_command({"accept": offer["id"]})
            for _ in range(200):
                if any(e.get("bytes", 0) > (1 << 20) for e in join_events.named("file-progress")):
                    break
                await asyncio.sleep(0.05)
            for side in closed_first:
                feature = {"sender": sender, "receiver": receiver}[side]
                feature.bulk._on_close()  # as aiortc reports a channel closed by the peer
                await asyncio.sleep(0.05)  # its transfer fails now, before the session sees the drop
            await host.first.peer.close()
            failed = await host_events.wait("error", timeout=WAIT, direction="send")
            await host_events.wait("reconnected", timeout=WAIT)
            await join_events.wait("reconnected", timeout=WAIT)
            assert failed["id"]
            # offered again by itself on the new link, and taken again without asking
            done = await join_events.wait("file-done", timeout=60, direction="receive")
            assert done["resumed_from"] > 0, done
            assert len(join_events.named("file-offer")) == 2 and len(join_events.named("file-accepted")) == 2
            assert hashlib.sha256((tmp_path / "in" / "big.bin").read_bytes()).hexdigest() == \
                hashlib.sha256(data).hexdigest() == done["sha256"]
        finally:
            for session in (join, host):
                await session.close("quit")
            for run in runs:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(run, WAIT)
