"""The rendezvous server's STUN responder over real UDP on loopback, and the URLs it hands out."""

import asyncio
import json
import socket

from websockets.asyncio.client import connect

from rassist.protocol import stun
from rassist.rendezvous.stun_server import start_stun, stun_urls
from tests.procs import rendezvous_server


async def _ask(port: int, payload: bytes, timeout: float = 0.3) -> bytes | None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        sock.sendto(payload, ("127.0.0.1", port))
        return await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout)
    except TimeoutError:
        return None
    finally:
        sock.close()


async def test_answers_binding_requests_and_ignores_everything_else():
    (transport, port), = await start_stun("127.0.0.1", [0])
    try:
        request, transaction = stun.build_binding_request()
        answer = await _ask(port, request)
        assert answer is not None and stun.parse_binding_response(answer, transaction)[0] == "127.0.0.1"
        assert len(answer) <= len(request) + 12
        for junk in (b"", b"\x00" * 19, b"GET / HTTP/1.1\r\n\r\n" * 3, answer, b"\x00\x03" + request[2:]):
            assert await _ask(port, junk) is None
    finally:
        transport.close()


async def test_rate_limited_per_source_address():
    (transport, port), = await start_stun("127.0.0.1", [0])
    try:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        for _ in range(200):
            sock.sendto(stun.build_binding_request()[0], ("127.0.0.1", port))
        answers = 0
        while True:
            try:
                await asyncio.wait_for(loop.sock_recv(sock, 2048), 0.3)
                answers += 1
            except TimeoutError:
                break
        sock.close()
        assert 10 <= answers <= 40  # the burst (20) and what refilled meanwhile, not 200
    finally:
        transport.close()


def test_urls_follow_the_host_the_client_used():
    assert stun_urls("rv.example:4477", None, [4477, 4478]) == ["stun:rv.example:4477", "stun:rv.example:4478"]
    assert stun_urls("[2001:db8::1]:4477", None, [4477]) == ["stun:[2001:db8::1]:4477"]
    assert stun_urls("10.0.0.1:4477", "rv.example", [9]) == ["stun:rv.example:9"]
    assert stun_urls(None, None, [1]) == [] and stun_urls("h:1", None, []) == []


async def test_the_server_hands_out_its_stun_urls():
    with rendezvous_server() as url:
        async with connect(url) as ws:
            await ws.send(json.dumps({"op": "turn"}))
            servers = json.loads(await asyncio.wait_for(ws.recv(), 5))["servers"]
        port = int(url.rsplit(":", 1)[1])
        assert servers[0]["urls"][0] == f"stun:127.0.0.1:{port}"
        request, transaction = stun.build_binding_request()
        for stun_url in servers[0]["urls"]:
            answer = await _ask(int(stun_url.rsplit(":", 1)[1]), request, timeout=3)
            assert answer is not None and stun.parse_binding_response(answer, transaction) is not None


async def test_no_stun_hands_out_none():
    with rendezvous_server("--no-stun") as url:
        async with connect(url) as ws:
            await ws.send(json.dumps({"op": "turn"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["servers"] == []
