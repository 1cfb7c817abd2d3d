"""Link figures for the status bar (and --json scripts): a session feature that emits

    {"event": "stats", "rtt_ms": 3.1, "bitrate_kbps": 812.4, "sent_kbps": 2.1, "received_kbps": 810.3,
     "fps": 14.5, "loss": 0.0, "route": {"local": "host", "remote": "host", ...}}

every `interval` seconds, and {"event": "connection", "state": "..."} when the peer connection's
state changes after the session started. Any figure it cannot know is null.

Where the numbers come from (aiortc has no single public call for them):
- bytes: the DTLS transport that carries everything (BUNDLE), plus any RTP transports in
  pc.getStats(); bitrate is the difference between two samples.
- RTT: SCTP's smoothed round-trip time (both sides have it once the heartbeats are acknowledged),
  else the RTCP round-trip time of a video sender.
- loss: RTP packets lost on what we receive, else the fraction the receiver reports back on what we send.
- fps: a callable given by whoever sees the frames (the viewer on the joiner, the track on the host).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

    from rassist.session import Session

INTERVAL = 2.0


@dataclass(frozen=True)
class Totals:
    """Cumulative counters at one moment (`at`, monotonic seconds)."""

    at: float
    bytes_sent: int = 0
    bytes_received: int = 0
    rtp_received: int = 0
    rtp_lost: int = 0
    rtt_s: float | None = None
    reported_loss: float | None = None  # 0..1, from the far end's receiver reports


def figures(prev: Totals | None, cur: Totals) -> dict[str, float | None]:
    """The per-interval figures between two samples (rates need two)."""
    out: dict[str, float | None] = {"rtt_ms": None if cur.rtt_s is None else round(cur.rtt_s * 1000, 1),
                                    "bitrate_kbps": None, "sent_kbps": None, "received_kbps": None,
                                    "loss": cur.reported_loss}
    if prev is None or cur.at <= prev.at:
        return out
    dt = cur.at - prev.at
    sent = max(0, cur.bytes_sent - prev.bytes_sent) * 8 / 1000 / dt
    received = max(0, cur.bytes_received - prev.bytes_received) * 8 / 1000 / dt
    out.update(sent_kbps=round(sent, 1), received_kbps=round(received, 1), bitrate_kbps=round(sent + received, 1))
    got = cur.rtp_received - prev.rtp_received
    lost = cur.rtp_lost - prev.rtp_lost
    if got + lost > 0:
        out["loss"] = round(max(0, lost) / (got + max(0, lost)), 4)
    return out


async def read_totals(pc: RTCPeerConnection) -> Totals:
    report: dict[str, Any] = {}
    with contextlib.suppress(Exception):  # a closing connection may refuse; then we know less
        report.update(await pc.getStats())
    sctp = pc.sctp
    if sctp is not None:
        with contextlib.suppress(Exception):
            report.update(sctp.transport._get_stats())  # the bundled DTLS transport; no public getter
    sent = received = rtp_received = rtp_lost = 0
    rtt: float | None = getattr(sctp, "_srtt", None) if sctp is not None else None  # aiortc keeps it private
    reported: float | None = None
    for stats in report.values():
        kind = getattr(stats, "type", "")
        if kind == "transport":
            sent += stats.bytesSent
            received += stats.bytesReceived
        elif kind == "inbound-rtp":
            rtp_received += stats.packetsReceived
            rtp_lost += stats.packetsLost
        elif kind == "remote-inbound-rtp":
            if rtt is None and stats.roundTripTime is not None:
                rtt = stats.roundTripTime
            # RTCP carries the fraction as an 8-bit fixed-point number; aiortc passes it through.
            fraction = stats.fractionLost
            reported = fraction / 256 if isinstance(fraction, int) else float(fraction)
    return Totals(time.monotonic(), sent, received, rtp_received, rtp_lost, rtt, reported)


class LinkStats:
    """A session feature: add it to the features list; it needs nothing else."""

    def __init__(self, interval: float = INTERVAL, fps: Callable[[], float | None] | None = None) -> None:
        self.interval = interval
        self.fps = fps
        self.pc: RTCPeerConnection | None = None
        self.session: Session | None = None
        self._task: asyncio.Task[None] | None = None
        self._prev: Totals | None = None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        self.pc = pc

        @pc.on("connectionstatechange")
        def _state() -> None:
            if self.session is not None:
                self.session.emit("connection", state=pc.connectionState)

    async def start(self, session: Session) -> None:
        self.session = session
        self.pc = session.pc
        self._prev = await read_totals(session.pc)
        self._task = asyncio.ensure_future(self._run())

    async def relink(self, session: Session) -> None:
        """A resumed link: its counters start afresh."""
        self.pc = session.pc
        self._prev = await read_totals(session.pc)

    async def sample(self) -> dict[str, Any]:
        """One stats event's fields, measured since the previous sample."""
        assert self.session is not None and self.pc is not None
        cur = await read_totals(self.pc)
        fields: dict[str, Any] = figures(self._prev, cur)
        self._prev = cur
        if self.session.rtt is not None:  # measured end to end by the session's heartbeat
            fields["rtt_ms"] = round(self.session.rtt * 1000, 1)
        fps = self.fps() if self.fps is not None else None
        fields["fps"] = None if fps is None else round(fps, 1)
        fields["route"] = self.session.peer.route()
        return fields

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            assert self.session is not None
            self.session.emit("stats", **await self.sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.session = None
