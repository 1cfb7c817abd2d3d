"""A hostile TURN server cannot crash a client: junk, malformed attributes and odd errors end in
a failed check (doctor) or a missing relay candidate (gathering), never in an exception."""

from __future__ import annotations

import asyncio
import struct

import pytest

from rassist.protocol import stun
from rassist.transport import doctor, ice


def _answers(request: bytes) -> list[bytes]:
    tid = request[8:20] if len(request) >= 20 else bytes(12)
    cookie = struct.pack("!I", stun.MAGIC_COOKIE)
    short_addr = struct.pack("!HH", 0x0016, 1) + b"\x01\x00\x00\x00"           # XOR-RELAYED-ADDRESS, 1 byte
    bad_error = struct.pack("!HH", 0x0009, 2) + b"\x00\x00"                      # ERROR-CODE too short
    huge_len = struct.pack("!HH", 0x0015, 0xFFFF)                               # NONCE claiming 64 kB
    return [
        b"\xff" * 40,
        struct.pack("!HH", 0x0103, len(short_addr)) + cookie + tid + short_addr,  # allocate success
        struct.pack("!HH", 0x0113, len(bad_error)) + cookie + tid + bad_error,    # allocate error
        struct.pack("!HH", 0x0113, len(huge_len)) + cookie + tid + huge_len,
        struct.pack("!HH", 0x4000, 8) + b"\x00" * 8,                              # channel data, no channel
    ]


class HostileTurn(asyncio.DatagramProtocol):
    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        for answer in _answers(data):
            self.transport.sendto(answer, addr)


@pytest.fixture
async def hostile_turn():
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(HostileTurn, local_addr=("127.0.0.1", 0))
    yield transport.get_extra_info("sockname")[1]
    transport.close()


async def test_doctor_reports_a_hostile_turn_server_as_failed(hostile_turn, monkeypatch):
    monkeypatch.setattr(doctor, "TURN_TIMEOUT", 2.0)
    server = ice.TurnServer(f"turn:127.0.0.1:{hostile_turn}", "127.0.0.1", hostile_turn, "udp", "u", "p")
    events: list[dict] = []
    found = doctor.Findings()
    await doctor.check_turn([server], lambda event, **f: events.append(f), found)
    assert found.relays == {server.url: False}
    assert events[0]["ok"] is False and events[0]["message"].startswith(f"TURN {server.url} ")


async def test_gathering_survives_a_hostile_turn_server(hostile_turn):
    from aiortc import RTCPeerConnection

    from rassist.transport.peer import Peer

    peer = Peer([{"urls": [f"turn:127.0.0.1:{hostile_turn}"], "username": "u", "credential": "p"}])
    try:
        sdp = await asyncio.wait_for(peer.offer(), 10)
    finally:
        await peer.close()
    assert "typ relay" not in sdp and "typ host" in sdp
    assert peer.ice.failures and all(f.startswith(f"TURN turn:127.0.0.1:{hostile_turn}") for f in peer.ice.failures)
    assert isinstance(peer.pc, RTCPeerConnection), peer.ice.failures
