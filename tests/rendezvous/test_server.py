"""The rendezvous server under hostile input: bad clients are dropped, good ones keep working."""

import asyncio
import contextlib
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from rassist.rendezvous.client import PeerGone, RendezvousClient
from rassist.rendezvous.server import Limits, RendezvousServer


@pytest.fixture
async def server():
    rs = RendezvousServer(limits=Limits(messages_per_second=20, burst=40, connections_per_ip=20))
    running = await rs.start("127.0.0.1", 0)
    yield rs, f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
    running.close()
    await running.wait_closed()


async def pair(url: str) -> tuple[RendezvousClient, RendezvousClient]:
    host = await RendezvousClient.connect(url, 5)
    nameplate = await host.allocate()
    joiner = await RendezvousClient.connect(url, 5)
    await joiner.claim(nameplate)
    await host.wait_joined()
    return host, joiner


async def test_relays_bodies_both_ways(server):
    _, url = server
    host, joiner = await pair(url)
    await joiner.send(b"\x00\x01sealed")
    assert await host.receive() == b"\x00\x01sealed"
    await host.send(b"back")
    assert await joiner.receive() == b"back"


async def assert_dropped(url: str, frame) -> None:
    async with connect(url, max_size=None) as ws:
        await ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(3):
                await asyncio.wait_for(ws.recv(), 5)
        # 1011 would be an internal error: a hostile frame must be refused, never crash a handler.
        assert closed.value.rcvd is not None and closed.value.rcvd.code in (1008, 1009, 1003)


@pytest.mark.parametrize("frame", [
    b"\x00\x01binary",
    "not json",
    "[1, 2, 3]",
    '{"no_op": 1}',
    '{"op": "format-disk"}',
    '{"op": "claim"}',
    '{"op": "claim", "nameplate": "../../etc"}',
    '{"op": "claim", "nameplate": "7", "body": 5}',
    '{"op": "claim", "nameplate": "7", "body": "***not base64***"}',
    '{"op": "send", "body": 5}',
    '{"op": "send", "body": "***not base64***"}',
    json.dumps({"op": "send", "body": "A" * 70_000}),
    '{"op":"ping","x":' + "[" * 5000 + "]" * 5000 + "}",
    '{"op":"ping","x":1e999}',
], ids=lambda frame: repr(frame)[:30])
async def test_bad_frames_drop_only_that_connection(server, frame):
    _, url = server
    host, joiner = await pair(url)
    await assert_dropped(url, frame)
    await joiner.send(b"still here")
    assert await host.receive() == b"still here"


async def test_flooding_client_is_cut_off_and_others_are_served(server):
    _, url = server
    host, joiner = await pair(url)
    async with connect(url) as flooder:
        with pytest.raises(ConnectionClosed):
            for _ in range(500):
                await flooder.send('{"op":"ping"}')
                await asyncio.sleep(0)
            for _ in range(500):
                await asyncio.wait_for(flooder.recv(), 5)
    await joiner.send(b"ok")
    assert await host.receive() == b"ok"


async def test_too_many_connections_from_one_address(server):
    rs, url = server
    clients = [await connect(url) for _ in range(rs.limits.connections_per_ip)]
    extra = await connect(url)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(extra.recv(), 5)
    for c in clients:
        await c.close()


async def test_peer_gone_is_reported(server):
    _, url = server
    host, joiner = await pair(url)
    await joiner.close()
    from rassist.rendezvous.client import PeerGone

    with pytest.raises(PeerGone):
        await host.receive()


async def test_second_claim_is_refused(server):
    _, url = server
    host = await RendezvousClient.connect(url, 5)
    nameplate = await host.allocate()
    first = await RendezvousClient.connect(url, 5)
    await first.claim(nameplate)
    second = await RendezvousClient.connect(url, 5)
    from rassist.errors import AuthError

    with pytest.raises(AuthError, match="has nobody waiting"):
        await second.claim(nameplate)


async def test_a_claim_carries_the_joiners_first_message_when_it_pairs_at_once(server):
    _, url = server
    host = await RendezvousClient.connect(url, 5)
    nameplate = await host.allocate()
    joiner = await RendezvousClient.connect(url, 5)
    assert await joiner.claim(nameplate, first=b"spake2 message") is True
    await host.wait_joined()
    assert await host.receive() == b"spake2 message"  # right after "joined", one round trip less
    await host.send(b"back")
    assert await joiner.receive() == b"back"


async def test_a_claim_that_waits_leaves_its_first_message_to_the_joiner(server):
    _, url = server
    joiner = await RendezvousClient.connect(url, 5)
    claiming = asyncio.ensure_future(joiner.claim("44", 5.0, first=b"dropped while waiting"))
    await asyncio.sleep(0.2)
    host = await RendezvousClient.connect(url, 5)
    assert await host.allocate("44") == "44"
    await host.wait_joined(5.0)
    assert await claiming is False  # not relayed: the joiner sends it now
    await joiner.send(b"sent once claimed")
    assert await host.receive() == b"sent once claimed"


async def test_turn_asked_before_a_claim_or_an_allocate_is_answered_on_the_way(server):
    # ask_turn(): its answer comes before the other reply and is kept, so turn_servers() asks
    # nothing more (one round trip for both, pairing.py).
    _, url = server
    host = await RendezvousClient.connect(url, 5)
    joiner = await RendezvousClient.connect(url, 5)
    sent: list[str] = []
    for client in (host, joiner):
        send = client._send

        async def spy(op, _send=send, **fields):
            sent.append(op)
            await _send(op, **fields)

        client._send = spy
    await host.ask_turn()
    nameplate = await host.allocate()
    assert await host.turn_servers() == []  # this server hands out none
    await joiner.ask_turn()
    assert await joiner.claim(nameplate, first=b"spake2") is True
    assert await joiner.turn_servers() == []
    assert sent == ["turn", "allocate", "turn", "claim"]
    await host.wait_joined()
    assert await host.receive() == b"spake2"


async def test_unreachable_server_is_a_clear_error():
    from rassist.errors import Unreachable

    with pytest.raises(Unreachable, match="cannot reach"):
        await RendezvousClient.connect("ws://127.0.0.1:9", 2)


async def test_a_joiner_may_arrive_before_a_host_with_a_preset_code(server):
    _, url = server
    joiner = await RendezvousClient.connect(url, 5)
    waited = []
    claiming = asyncio.ensure_future(joiner.claim("42", 5.0, lambda: waited.append(True)))
    await asyncio.sleep(0.2)
    assert not claiming.done()
    host = await RendezvousClient.connect(url, 5)
    assert await host.allocate("42") == "42"
    await host.wait_joined(5.0)
    await claiming
    assert waited == [True]
    await joiner.send(b"sealed")
    assert await host.receive() == b"sealed"
    from rassist.errors import AuthError

    latecomer = await RendezvousClient.connect(url, 5)
    with pytest.raises(AuthError):  # the nameplate is used up: no second guess by waiting
        await latecomer.claim("42", 5.0)


async def test_a_waiting_claim_gives_up_after_its_timeout(server):
    _, url = server
    from rassist.errors import TimedOut

    joiner = await RendezvousClient.connect(url, 5)
    with pytest.raises(TimedOut, match="code number 43"):
        await joiner.claim("43", 0.3)
    host = await RendezvousClient.connect(url, 5)
    with pytest.raises(TimedOut, match="nobody joined"):
        await host.wait_joined(0.3)


async def test_a_fresh_nameplate_skips_one_a_joiner_waits_for(server):
    _, url = server
    joiner = await RendezvousClient.connect(url, 5)
    claiming = asyncio.ensure_future(joiner.claim("1", 5.0))
    await asyncio.sleep(0.2)
    host = await RendezvousClient.connect(url, 5)
    assert await host.allocate() != "1"
    claiming.cancel()


async def test_a_peer_message_that_overtakes_a_server_reply_is_kept(server):
    """The joiner asks for TURN servers after sending its SPAKE2 message; the host's answer may
    arrive first and must not be lost."""
    _, url = server
    host, joiner = await pair(url)
    await joiner.send(b"pake")
    assert await host.receive() == b"pake"
    await host.send(b"answer")
    await asyncio.sleep(0.2)  # the answer is there before the server's turn reply
    assert await joiner.turn_servers() == []
    assert await joiner.receive() == b"answer"


async def test_a_new_allocation_forgets_early_messages(server):
    _, url = server
    host, joiner = await pair(url)
    await joiner.send(b"late words of a failed attempt")
    await asyncio.sleep(0.2)
    await host.turn_servers()  # buffers the message while waiting for its own reply
    await host.allocate()
    second = await RendezvousClient.connect(url, 5)
    nameplate = await host.allocate()
    await second.claim(nameplate)
    await host.wait_joined(5)
    await second.send(b"fresh")
    assert await host.receive() == b"fresh"


async def test_a_reader_that_stalls_is_dropped_before_much_piles_up_toward_it():
    import os
    import socket

    from rassist.rendezvous.server import MAX_BUFFERED

    rs = RendezvousServer(limits=Limits(messages_per_second=10_000, burst=10_000, messages_per_ip=100_000))
    running = await rs.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
    try:
        host, joiner = await pair(url)
        host._ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        host._ws.transport.pause_reading()  # the host stops reading
        body = os.urandom(40 * 1024)
        most = 0
        with pytest.raises(PeerGone):
            for _ in range(2000):  # 80 MB: far more than any socket buffer holds
                await joiner.send(body)
                most = max([most] + [c.transport.get_write_buffer_size() for c in rs.hub.rooms.partner])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(joiner.receive(), 0.001)
        assert most <= MAX_BUFFERED
        assert not rs.hub.rooms.partner  # both sides of the pair are gone
    finally:
        running.close()
        await running.wait_closed()
