"""The `meet` op: two sides of a session find each other at an opaque resume mailbox."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rassist.errors import ConnectionLost, TimedOut, UsageError
from rassist.protocol import rendezvous as wire
from rassist.rendezvous.client import PeerGone, RendezvousClient
from rassist.rendezvous.rooms import MailboxBusy, Rooms
from rassist.rendezvous.server import RendezvousServer
from tests.procs import rendezvous_server
from tests.protocol.hostile import json_values
from tests.redis_server import redis_server, unavailable_reason

BOX = "ab" * 32
OTHER = "cd" * 32


@pytest.fixture
def real_server():
    with rendezvous_server() as url:
        yield url


async def met(url_a: str, url_b: str, box: str = BOX) -> tuple[RendezvousClient, RendezvousClient]:
    first = await RendezvousClient.connect(url_a, 5)
    waiting = asyncio.ensure_future(first.meet(box, 10))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # nobody there yet: it waits
    second = await RendezvousClient.connect(url_b, 5)
    await second.meet(box, 10)
    await waiting
    return first, second


async def relays(a: RendezvousClient, b: RendezvousClient) -> None:
    await a.send(b"sealed offer")
    assert await asyncio.wait_for(b.receive(), 5) == b"sealed offer"
    await b.send(b"sealed answer")
    assert await asyncio.wait_for(a.receive(), 5) == b"sealed answer"


async def test_two_sides_meet_and_relay_through_a_real_server(real_server):
    a, b = await met(real_server, real_server)
    await relays(a, b)
    await a.close()
    with pytest.raises(PeerGone):
        await asyncio.wait_for(b.receive(), 5)
    await b.close()


async def test_other_mailboxes_and_late_comers_do_not_disturb_a_pair(real_server):
    a, b = await met(real_server, real_server)
    stranger = await RendezvousClient.connect(real_server, 5)
    with pytest.raises(TimedOut):  # a wrong secret gives another mailbox: nobody is there
        await stranger.meet(OTHER, 0.5)
    late = await RendezvousClient.connect(real_server, 5)
    with pytest.raises(TimedOut):  # the mailbox is forgotten once two met: a third just waits
        await late.meet(BOX, 0.5)
    await relays(a, b)
    for client in (a, b, stranger, late):
        await client.close()


async def test_a_connection_meets_once():
    rs = RendezvousServer()
    running = await rs.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
    try:
        a, b = await met(url, url)
        with pytest.raises(ConnectionLost, match="paired or waiting already"):
            await a.meet(OTHER, 2)
        await relays(a, b)  # the refusal changed nothing
        host = await RendezvousClient.connect(url, 5)
        await host.allocate()
        with pytest.raises(ConnectionLost, match="paired or waiting already"):
            await host.meet(BOX, 2)
        for client in (a, b, host):
            await client.close()
    finally:
        running.close()
        await running.wait_closed()
        await rs.close()


async def test_the_server_caps_the_wait():
    rs = RendezvousServer(meet_wait=0.5)
    running = await rs.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
    try:
        lonely = await RendezvousClient.connect(url, 5)
        with pytest.raises(TimedOut, match="nobody came"):
            await lonely.meet(BOX, 10)
        assert not rs.hub.rooms.meeting  # forgotten
        a, b = await met(url, url)  # the mailbox works again afterwards
        await relays(a, b)
        for client in (lonely, a, b):
            await client.close()
        await asyncio.sleep(0.2)
        assert not rs.hub.rooms.meeting and not rs.hub.rooms.partner and not rs._meet_timers
    finally:
        running.close()
        await running.wait_closed()
        await rs.close()


async def test_a_side_that_leaves_while_waiting_is_forgotten(real_server):
    gone = await RendezvousClient.connect(real_server, 5)
    waiting = asyncio.ensure_future(gone.meet(BOX, 10))
    await asyncio.sleep(0.2)
    waiting.cancel()
    await gone.close()
    await asyncio.sleep(0.2)
    a, b = await met(real_server, real_server)  # nobody stale is paired with the first newcomer
    await relays(a, b)
    for client in (a, b):
        await client.close()


@pytest.mark.parametrize("mailbox", ["AB" * 32, "ab" * 31, "ab" * 33, "ab" * 31 + "zz", 5, None,
                                     "ab" * 32 + "\n", "12"])
async def test_bad_mailboxes_are_refused(real_server, mailbox):
    async with connect(real_server) as ws:
        await ws.send(json.dumps({"op": "meet", "mailbox": mailbox}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    client = await RendezvousClient.connect(real_server, 5)
    if isinstance(mailbox, str):
        with pytest.raises(UsageError):
            await client.meet(mailbox, 1)
    await client.close()


@given(json_values)
def test_meet_frames_decode_only_with_a_well_formed_mailbox(value):
    frame = json.dumps({"op": "meet", "mailbox": value})
    try:
        msg = wire.decode(frame, wire.CLIENT_OPS)
    except wire.WireError:
        assert not (isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value))
        return
    assert isinstance(msg["mailbox"], str) and re.fullmatch(r"[0-9a-f]{64}", msg["mailbox"])


@given(st.text(alphabet="0123456789abcdefABCDEF\n", min_size=60, max_size=68))
def test_mailbox_format_is_exactly_64_lowercase_hex(value):
    assert wire.is_mailbox(value) == (re.fullmatch(r"[0-9a-f]{64}", value) is not None and len(value) == 64)


def test_rooms_meeting_bookkeeping():
    rooms = Rooms()
    assert rooms.meet(BOX, "a") is None
    with pytest.raises(MailboxBusy):
        rooms.meet(OTHER, "a")
    assert rooms.meet(BOX, "b") == "a"
    assert rooms.partner == {"a": "b", "b": "a"} and not rooms.meeting and not rooms.meets_at
    assert rooms.release("a") == "b" and not rooms.partner
    assert rooms.meet(BOX, "c") is None
    assert rooms.unmeet("c", BOX) and not rooms.unmeet("c", BOX)
    assert rooms.meet(BOX, "d") is None  # c no longer waits there
    rooms.release("d")
    assert not rooms.meeting and not rooms.meets_at


# ---------------------------------------------------------------- a cluster

redis_missing = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@redis_missing
async def test_meeting_across_two_redis_nodes():
    from tests.rendezvous.test_cluster import nodes

    with redis_server() as redis_url:
        async with nodes(redis_url) as (one, two):
            a, b = await met(one, two)
            await relays(a, b)
            c, d = await met(two, one, OTHER)  # the other way round
            await relays(c, d)
            await a.close()
            with pytest.raises(PeerGone):
                await asyncio.wait_for(b.receive(), 5)
            stranger = await RendezvousClient.connect(one, 5)
            with pytest.raises(TimedOut):
                await stranger.meet("ef" * 32, 0.5)
            await relays(c, d)
            for client in (b, c, d, stranger):
                await client.close()
            await asyncio.sleep(0.3)
            import redis.asyncio as redis

            r = redis.from_url(redis_url, decode_responses=True)
            try:  # only ever the id of a waiting side; nothing left once everyone is gone
                assert await r.keys("rassist:mb:*") == []
                assert await r.keys("rassist:pt:*") == []
            finally:
                await r.aclose()


@redis_missing
async def test_a_waiting_side_on_a_redis_node_is_forgotten_when_it_leaves():
    from tests.rendezvous.test_cluster import nodes

    with redis_server() as redis_url:
        async with nodes(redis_url) as (one, two):
            gone = await RendezvousClient.connect(one, 5)
            waiting = asyncio.ensure_future(gone.meet(BOX, 10))
            await asyncio.sleep(0.3)
            waiting.cancel()
            await gone.close()
            await asyncio.sleep(0.3)
            a, b = await met(two, one)
            await relays(a, b)
            for client in (a, b):
                await client.close()
