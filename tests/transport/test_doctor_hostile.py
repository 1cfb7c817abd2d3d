"""A hostile STUN server cannot crash `rassist doctor`'s STUN check: junk is ignored, not trusted."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.protocol import stun
from rassist.transport.doctor import Findings, check_stun


class Hostile(asyncio.DatagramProtocol):
    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        for answer in self.answers:
            self.transport.sendto(answer.replace(b"TXID________", data[8:20]), addr)


async def _run(answers: list[bytes]) -> tuple[Findings, list[dict]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: Hostile(answers), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    events: list[dict] = []
    found = Findings()
    try:
        await check_stun([f"stun:127.0.0.1:{port}"], lambda event, **f: events.append({"event": event, **f}), found)
    finally:
        transport.close()
    return found, events


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=120), max_size=4))
def test_junk_answers_are_no_answer(answers):
    found, events = asyncio.run(_run(answers))
    assert events and events[0]["name"] == "stun"
    assert found.public is None and not events[0]["ok"]  # junk is no answer


def test_a_forged_answer_for_another_transaction_is_ignored_and_a_real_one_used():
    forged = stun.build_binding_response(b"x" * 12, "203.0.113.9", 1)
    real = stun.build_binding_response(b"TXID________", "198.51.100.7", 4242)
    found, events = asyncio.run(_run([forged, b"\x01\x01\x00\x00garbage", real]))
    assert found.public == ("198.51.100.7", 4242)
