"""A packet lost for good (its retransmissions lost too) must not freeze the viewer's screen.

aiortc's jitter buffer waits for a missing packet until 512 newer ones arrived; repair.py asks
again, then drops what waits and requests a keyframe."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket, is_rtcp
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.media.codec import AUD, ScreenEncoder
from rassist.media.ratecontrol import RateSettings
from rassist.media.repair import GIVE_UP, PLI_REPEAT, RETRY, LossRepair, drop_stalled, holes, is_keyframe
from tests.media.conftest import Painter, psnr, text_screen
from tests.media.test_screen import Peers, share


def test_asks_again_then_gives_up() -> None:
    repair = LossRepair()
    assert repair.step([], 0.0) == ([], False)
    assert repair.step([5, 9], 10.0) == ([], False)  # aiortc has just asked
    assert repair.step([5, 9], 10.0 + RETRY + 0.01) == ([5, 9], False)
    assert repair.step([9], 10.0 + RETRY + 0.1) == ([], False)  # not twice within RETRY
    assert repair.step([9], 10.0 + 2 * RETRY + 0.02) == ([9], False)
    assert repair.step([9], 10.0 + GIVE_UP + 0.01) == ([], True)
    assert repair.step([9], 10.0 + GIVE_UP + 0.1) == ([], False)  # a fresh wait after giving up
    assert repair.step([], 20.0) == ([], False)


def test_a_keyframe_request_is_repeated_until_a_keyframe_arrives() -> None:
    repair = LossRepair()
    assert not repair.repeat_pli(5.0)  # nothing asked for
    repair.pli_sent(5.0)
    assert not repair.repeat_pli(5.0 + PLI_REPEAT - 0.1)
    assert repair.repeat_pli(5.0 + PLI_REPEAT + 0.01)
    repair.pli_sent(5.0 + PLI_REPEAT + 0.01)
    repair.keyframe_arrived()
    assert not repair.repeat_pli(20.0)


def test_keyframes_are_recognised_in_what_the_receiver_reassembles() -> None:
    encoder = ScreenEncoder(RateSettings(2_000_000, 20.0), threads=1)
    encoder.apply(0, 0, np.zeros((240, 320, 4), np.uint8), full=True)
    # aiortc's depayloader writes 4-byte start codes, as libx264 does.
    assert is_keyframe(encoder.encode(0, keyframe=True))
    encoder.apply(0, 0, np.full((20, 20, 4), 200, np.uint8))
    assert not is_keyframe(encoder.encode(3000))
    assert not is_keyframe(AUD)
    assert is_keyframe(encoder.encode(6000, keyframe=True))
    assert not is_keyframe(b"") and not is_keyframe(b"\x00\x00\x01")


def packets(frames: list[int], lost: set[int]) -> list[RtpPacket]:
    """Frames of the given packet counts, in sequence; the `lost` sequence numbers left out."""
    out, seq = [], 100
    for ts, count in enumerate(frames):
        for i in range(count):
            if seq not in lost:
                packet = RtpPacket(sequence_number=seq, timestamp=ts * 3000, marker=int(i == count - 1), ssrc=7)
                packet._data = bytes([ts])  # type: ignore[attr-defined]
                out.append(packet)
            seq += 1
    return out


def test_dropping_a_stalled_frame_lets_the_next_ones_through() -> None:
    buffer = JitterBuffer(capacity=512, is_video=True)
    out = [buffer.add(p)[1] for p in packets([3, 4, 2, 1], lost={104})]  # the second frame lost one
    assert [f for f in out if f is not None][0].timestamp == 0
    assert holes(buffer) == [104]
    assert drop_stalled(buffer) == 7
    assert holes(buffer) == []
    _, frame = buffer.add(RtpPacket(sequence_number=110, timestamp=12000, marker=1, ssrc=7))
    assert frame is not None and frame.timestamp == 6000  # the third frame, whole


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=12), st.sets(st.integers(100, 400), max_size=20))
def test_after_dropping_nothing_is_missing_and_a_frame_begins(frames: list[int], lost: set[int]) -> None:
    buffer = JitterBuffer(capacity=512, is_video=True)
    for packet in packets(frames, lost):
        buffer.add(packet)
    drop_stalled(buffer)
    assert holes(buffer) == []
    held = [p for p in buffer._packets if p is not None]
    if held:  # what is left starts a frame: the packet before it ended one
        first = min(held, key=lambda p: (p.sequence_number - buffer._origin) % 65536)
        assert first.sequence_number == buffer._origin
        assert first.sequence_number - 1 not in lost


def drop_forever(sender: Any, victim: dict[str, int | None]) -> None:
    """Make the host's transport lose one RTP packet of the stream, and every retransmission of
    it: `victim["countdown"]` packets after arming, that one."""
    transport = sender._RTCRtpSender__transport
    real = transport._send_rtp

    async def send(data: bytes) -> None:
        if not is_rtcp(data):
            packet = RtpPacket.parse(data)
            if packet.ssrc == sender._ssrc and victim["countdown"] is not None:
                victim["countdown"] -= 1
                if victim["countdown"] == 0:
                    victim["seq"] = packet.sequence_number
                    return
            if packet.ssrc == sender._rtx_ssrc and victim.get("seq") is not None \
                    and int.from_bytes(packet.payload[:2], "big") == victim["seq"]:
                victim["dropped_rtx"] = victim.get("dropped_rtx", 0) + 1  # type: ignore[operator]
                return
        await real(data)

    transport._send_rtp = send


@pytest.mark.display
async def test_a_packet_lost_for_good_does_not_freeze_the_screen(painter: Painter, peers: Peers) -> None:
    first = text_screen(seed=11)
    painter.put(first)
    host, view = await share(peers)
    assert host.track is not None and host.feedback is not None
    try:
        await view.viewer.settled_frame(timeout=30)
        await asyncio.sleep(1.0)
        # A small change: a few packets, then only the idle screen's keep-alive frames, far
        # fewer than the 512 after which aiortc would skip the hole by itself.
        victim: dict[str, int | None] = {"countdown": 3, "seq": None}
        drop_forever(peers[0].getTransceivers()[-1].sender, victim)
        picture = first.copy()
        picture[100:400, 100:700] = text_screen(600, 300, seed=12)
        painter.put(picture[100:400, 100:700], 100, 100)
        score = 0.0
        for _ in range(300):  # up to 30 s: the machine may be busy
            await asyncio.sleep(0.1)
            frame = view.viewer.latest
            if victim["seq"] is not None and frame is not None:
                score = psnr(frame.to_ndarray(format="rgb24"), picture)
                if score >= 38:
                    break
        assert victim["seq"] is not None, "no packet was dropped"
        assert score >= 38, f"the screen froze at {score:.1f} dB"
        assert view.viewer.repair is not None and view.viewer.repair.policy.nacks >= 1
        assert host.feedback.keyframe_requests >= 1 or host.feedback.unrecoverable >= 1
    finally:
        await host.stop()
        await view.stop()
