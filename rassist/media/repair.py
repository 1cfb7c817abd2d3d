"""The viewer's side of loss recovery: ask again for lost packets, and give up on them in time.

aiortc's receiver asks for a lost packet (NACK) once, when it notices the gap, and its jitter
buffer hands frames to the decoder strictly in order: a packet that never arrives (the NACK or
the retransmission was lost too, or the sender no longer had it) holds back every later frame
until 512 more packets have arrived. On an idle screen (a tiny frame every two seconds) that is
many minutes of a frozen, unreadable picture, and no keyframe request is ever sent (aiortc issue
#1418 describes the same stall). So, on our receiver only:
- a packet the buffer still waits for is asked for again every RETRY seconds;
- once one has been missing for GIVE_UP seconds, the frames that wait for it are dropped and a
  keyframe is requested (PLI): the host answers it (at most one a second, ratecontrol);
- a keyframe request (ours, or aiortc's after a decoding error) is repeated every PLI_REPEAT
  seconds until a keyframe arrives: the host ignores requests while a keyframe is on its way,
  and that keyframe may be the one that lost a packet.

`LossRepair` decides (pure); `ReceiverRepair` reads aiortc's receiver state and acts on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiortc.utils import uint16_add

RETRY = 0.3  # s between NACKs for the same missing packets (a paced retransmission takes < 0.3 s)
GIVE_UP = 1.2  # s a packet may be missing before its frames are dropped and a keyframe asked for
CHECK = 0.1  # s between looks at the receiver's buffer
MAX_NACK = 200  # sequence numbers in one NACK (oldest first)
PLI_REPEAT = 2.0  # s between keyframe requests while none has arrived


class LossRepair:
    """When to ask again for the packets the jitter buffer waits for, and when to give up."""

    def __init__(self, retry: float = RETRY, give_up: float = GIVE_UP) -> None:
        self.retry = retry
        self.give_up = give_up
        self.first_seen: dict[int, float] = {}  # missing sequence number -> when first seen missing
        self.last_nack = float("-inf")
        self.nacks = 0
        self.give_ups = 0
        self.last_pli: float | None = None  # a keyframe request not yet answered: when it was sent
        self.repeated_plis = 0

    def pli_sent(self, now: float) -> None:
        self.last_pli = now

    def keyframe_arrived(self) -> None:
        self.last_pli = None

    def repeat_pli(self, now: float) -> bool:
        """Whether to ask for a keyframe again (the last request went unanswered)."""
        if self.last_pli is None or now - self.last_pli < PLI_REPEAT:
            return False
        self.repeated_plis += 1
        return True

    def step(self, holes: list[int], now: float) -> tuple[list[int], bool]:
        """`holes`: sequence numbers the buffer waits for, oldest first. Returns (sequence
        numbers to NACK now, whether to give up on them)."""
        self.first_seen = {seq: self.first_seen.get(seq, now) for seq in holes}
        if not holes:
            return [], False
        if now - min(self.first_seen.values()) >= self.give_up:
            self.first_seen.clear()
            self.give_ups += 1
            return [], True
        # aiortc sent the first NACK when it saw the gap: ask again only for older ones.
        if any(now - seen >= self.retry for seen in self.first_seen.values()) and now - self.last_nack >= self.retry:
            self.last_nack = now
            self.nacks += 1
            return holes[:MAX_NACK], False
        return [], False


def is_keyframe(data: bytes) -> bool:
    """Whether an H.264 access unit (Annex B) starts a new picture: an SPS or IDR slice among its
    first NAL units (libx264 sends SPS and PPS ahead of every IDR)."""
    head = data[:256]
    at = head.find(b"\x00\x00\x01")
    while 0 <= at < len(head) - 3:
        if head[at + 3] & 0x1F in (5, 7):
            return True
        at = head.find(b"\x00\x00\x01", at + 3)
    return False


def holes(buffer: Any) -> list[int]:
    """Sequence numbers missing between a jitter buffer's origin and its newest packet."""
    origin, packets, capacity = buffer._origin, buffer._packets, buffer.capacity
    if origin is None:
        return []
    last = next((i for i in range(capacity - 1, -1, -1) if packets[(origin + i) % capacity] is not None), None)
    if last is None:
        return []
    return [uint16_add(origin, i) for i in range(last) if packets[(origin + i) % capacity] is None]


def drop_stalled(buffer: Any) -> int | None:
    """Drop what waits for a lost packet: everything up to the first frame that begins after the
    newest hole (a held packet right after one with the marker bit, which ends a frame), or
    everything held when there is none yet. Returns the media SSRC (for the PLI), or None."""
    origin, packets, capacity = buffer._origin, buffer._packets, buffer.capacity
    if origin is None:
        return None
    slots = [packets[(origin + i) % capacity] for i in range(capacity)]
    held = [i for i, p in enumerate(slots) if p is not None]
    if not held:
        return None
    ssrc = int(slots[held[-1]].ssrc)
    gaps = [i for i in range(held[-1]) if slots[i] is None]
    newest_gap = gaps[-1] if gaps else -1
    start = next((i for i in range(newest_gap + 2, held[-1] + 1)
                  if slots[i] is not None and slots[i - 1] is not None and slots[i - 1].marker), None)
    buffer.remove(start if start is not None else held[-1] + 1)
    return ssrc


class ReceiverRepair:
    """Runs LossRepair on one aiortc RTCRtpReceiver (video) until stopped."""

    def __init__(self, receiver: Any, policy: LossRepair | None = None) -> None:
        self.receiver = receiver
        self.policy = policy or LossRepair()
        self._task: asyncio.Task[None] | None = None
        self._ssrc: int | None = None

    def start(self) -> None:
        # Every keyframe request the receiver sends (aiortc's own too) and every keyframe it
        # hands to the decoder: instance attributes, this receiver only.
        send_pli = self.receiver._send_rtcp_pli

        async def pli(media_ssrc: int) -> None:
            self.policy.pli_sent(time.monotonic())
            self._ssrc = media_ssrc
            await send_pli(media_ssrc)

        self.receiver._send_rtcp_pli = pli
        buffer = getattr(self.receiver, "_RTCRtpReceiver__jitter_buffer", None)
        if buffer is not None:
            add = buffer.add

            def add_packet(packet: Any) -> Any:
                pli_flag, frame = add(packet)
                if frame is not None and is_keyframe(frame.data):
                    self.policy.keyframe_arrived()
                return pli_flag, frame

            buffer.add = add_packet
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        buffer = getattr(self.receiver, "_RTCRtpReceiver__jitter_buffer", None)
        nacks = getattr(self.receiver, "_RTCRtpReceiver__nack_generator", None)
        if buffer is None or nacks is None:
            return  # not a video receiver of the aiortc version we know: nothing to repair
        while self.receiver.track.readyState == "live":
            await asyncio.sleep(CHECK)
            try:
                await self.check(buffer, nacks, time.monotonic())
            except ConnectionError:
                return  # the transport closed

    async def check(self, buffer: Any, nacks: Any, now: float) -> None:
        missing = holes(buffer)
        lost, give_up = self.policy.step(missing, now)
        if lost:
            ssrc = next((p.ssrc for p in buffer._packets if p is not None), None)
            if ssrc is not None:
                await self.receiver._send_rtcp_nack(ssrc, lost)
        if give_up:
            ssrc = drop_stalled(buffer)
            nacks.missing.clear()  # the sender need not resend what we no longer wait for
            if ssrc is not None:
                await self.receiver._send_rtcp_pli(ssrc)
        elif self.policy.repeat_pli(now) and self._ssrc is not None:
            await self.receiver._send_rtcp_pli(self._ssrc)
