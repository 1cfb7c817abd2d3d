"""Video codec choice, bitrate and frame rate for the screen track, adapted to the network.

Why we encode ourselves instead of letting aiortc do it:
- aiortc's encoders cap VP8 at 1.5 Mbit/s and H.264 at 3 Mbit/s (module constants) and use
  4:2:0 chroma. Coloured terminal text loses ~5 dB to 4:2:0 alone (34 dB against the RGB source
  before any compression), so readable text needs 4:4:4, which aiortc's encoders cannot do.
- aiortc recreates its encoder (and so sends a keyframe) whenever the bitrate moves by 10%.
The documented way around both: a track may return already encoded `av.Packet`s and the
RTCRtpSender then only packetizes them (`Encoder.pack`, as MediaPlayer(decode=False) does). So the
screen track hands out H.264 High 4:4:4 packets from libx264 (CRF for quality, VBV to cap each
frame to the bandwidth), and the transceiver is restricted to H.264 so the sender picks the
matching packetizer. The receiving side is aiortc's stock H.264 decoder (FFmpeg), which decodes
4:4:4; both ends are rassist, so the baseline profile-level-id in the SDP is only a label.

Hooks aiortc has no public API for, installed on our sender instance only:
- a wrapper of `RTCRtpSender._handle_rtcp_packet`: keyframe requests (PLI/FIR) must reach the
  track even when the screen is idle and the sender is waiting in `track.recv()`, and receiver
  reports (loss, round trip) and REMB must reach the link estimator (ratecontrol.py);
- `pace`: the sender's packets go through a pacer, since aiortc sends each frame as one burst
  and a 400 kB keyframe in one burst overflows a 100 ms router queue on a thin link.
"""

from __future__ import annotations

import asyncio
import ctypes
import fractions
import os
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.rtp import (RTCP_PSFB_APP, RTCP_PSFB_FIR, RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RTP_HISTORY_SIZE,
                        RtcpPsfbPacket, RtcpRrPacket, RtcpRtpfbPacket, RtcpSrPacket, is_rtcp, unpack_remb_fci)

from rassist.media.ratecontrol import (REST_FRAMES, VBV_INIT, LinkEstimator, Pacer, RateSettings,
                                       reopen_wanted, vbv_bufsize)

MIME = "video/H264"
TIME_BASE = fractions.Fraction(1, 90000)  # RTP's video clock, so pts map 1:1 onto RTP timestamps

# The receiver's jitter buffer (aiortc) holds 512 packets: a larger frame cannot be reassembled
# (ratecontrol.MAX_FRAME_BYTES stays below). The sender's NACK history holds the last 128 packets;
# paced, a lost packet is asked for about one round trip later, which is within those 128
# packets up to ~150 kB per round trip.
REST_BYTES = 4000  # a re-encode of a still picture this small: nothing left to add, the screen rests
CABAC_BELOW = 3_000_000  # bit/s under which the encoder spends CPU on CABAC to save bytes
# Below this fill of its VBV buffer libx264 raises the quantiser to refill it: such a frame's
# size says nothing about whether the picture is done (a 1080p text screen after a first
# keyframe at 1-1.5 Mbit/s: 1-4 kB frames at 25-30 dB, then 10 kB ones again). An absolute
# floor (room for two settled frames) left some screens at 31-36 dB; half the buffer did not.
VBV_SETTLED = 0.5


def prefer_h264(transceiver: RTCRtpTransceiver) -> None:
    """Negotiate only H.264 (and its RTX) on this transceiver: the track sends H.264 packets."""
    caps = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in caps if c.mimeType in (MIME, "video/rtx")])


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class ScreenEncoder:
    """libx264 tuned for screens: zero latency, CRF quality capped by VBV. One thread only.

    The encoder keeps the whole picture in 4:4:4 at full size and `apply` converts only the
    rectangles that changed (a scrolling terminal is a small fraction of a 1080p screen); `encode`
    then compresses the current picture (scaled down and/or in 4:2:0 when the rate settings say
    so) into one Annex-B packet.

    libx264 cannot change its VBV rate through PyAV once open, and reopening costs a keyframe
    (a whole screen of bits), so the encoder reopens only when it must (a new size or chroma),
    when a big change needs about a keyframe's worth of bits anyway, or when the rate it was
    opened with is far from the target. In between the frame rate and the pacer hold the rate.
    """

    def __init__(self, settings: RateSettings, crf: int = 20, threads: int | None = None) -> None:
        self.crf = crf
        self.threads = threads or default_threads()
        self._wanted = settings
        self._open: RateSettings | None = None
        self._codec: Any = None
        self._picture: av.VideoFrame | None = None
        self._planes: list[np.ndarray] = []
        self._reformatter = av.video.reformatter.VideoReformatter()
        # Which 64x64 blocks changed since the last encode, and since the last re-encode of a
        # still picture (a scrolling region changes the same blocks in every frame: it is not a
        # new screen, however many frames it took).
        self._changed_blocks = np.zeros((0, 0), bool)
        self._since_rest = np.zeros((0, 0), bool)
        self._frames_since_rest = 0  # and frames encoded since
        self.keyframes = 0
        self.reopens = 0
        self.last_keyframe = False
        self._trimmed = True  # the heap was trimmed since the picture last changed
        # libx264's VBV buffer as it models it (bits): each frame adds rate / fps (at the rate
        # and frame rate it was opened with), up to the buffer's size, and takes what it used.
        self._vbv_size = 0.0
        self._vbv_fill = 0.0
        self._vbv_refill = 0.0
        # Whether the last frame could have been much bigger than a settled one: a small frame
        # means "nothing left to add" only then, not right after a big one emptied the buffer.
        self.had_room = True

    def configure(self, settings: RateSettings) -> None:
        self._wanted = settings

    @property
    def settings(self) -> RateSettings:
        return self._wanted

    @property
    def size(self) -> tuple[int, int] | None:
        return (self._picture.width, self._picture.height) if self._picture is not None else None

    def apply(self, x: int, y: int, bgra: np.ndarray, full: bool = False) -> None:
        """Paint BGRA pixels at (x, y) into the picture; a `full` update also sets its size."""
        height, width = bgra.shape[:2]
        if full and self.size != (width, height):
            self._picture = av.VideoFrame(width, height, "yuv444p")
            self._planes = [np.frombuffer(p, np.uint8).reshape(-1, p.line_size) for p in self._picture.planes]
        if self._picture is None:
            raise ValueError("the first update must be a full picture")
        converted = self._reformatter.reformat(av.VideoFrame.from_ndarray(bgra, format="bgra"),
                                               format="yuv444p")
        for plane, target in zip(converted.planes, self._planes):
            source = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            target[y:y + height, x:x + width] = source[:height, :width]
        blocks = (-(-self._picture.height // 64), -(-self._picture.width // 64))
        if self._since_rest.shape != blocks:
            self._changed_blocks, self._since_rest = np.zeros(blocks, bool), np.zeros(blocks, bool)
        rows, cols = slice(y // 64, -(-(y + height) // 64)), slice(x // 64, -(-(x + width) // 64))
        self._changed_blocks[rows, cols] = self._since_rest[rows, cols] = True

    def encoded_size(self, settings: RateSettings) -> tuple[int, int]:
        assert self._picture is not None
        if settings.scale >= 1.0:
            return self._picture.width, self._picture.height
        # Even sizes: 4:2:0 needs them, and libx264 prefers them.
        return (max(16, int(self._picture.width * settings.scale) // 2 * 2),
                max(16, int(self._picture.height * settings.scale) // 2 * 2))

    def _needs_reopen(self, refining: bool, may_reopen: bool) -> bool:
        if self._codec is None or self._open is None or self._picture is None:
            return True
        old, new = self._open, self._wanted
        if (self._codec.width, self._codec.height) != self.encoded_size(new) or old.chroma != new.chroma:
            return True
        if not may_reopen:
            return False  # a keyframe just left: a new rate can wait
        return reopen_wanted(old, new, float(self._changed_blocks.mean()), self._new_screen(), refining)

    def _new_screen(self) -> bool:
        """Most of the screen changed just after rest, and the link is clean enough to send it
        as one frame."""
        return (self._wanted.whole_screens and self._frames_since_rest < REST_FRAMES
                and bool(self._since_rest.mean() >= 0.5))

    def _create(self, width: int, height: int, new_screen: bool) -> None:
        s = self._wanted
        # The very first picture of a session: something to look at soon beats sharp but late.
        vbv_init = VBV_INIT if self._codec is not None else 0.3
        # The old libx264 context goes before the new one opens: both at once (~80 MB each at
        # 1080p 4:4:4) left the heap that much bigger after every restart (fragmented, never
        # given back); freed first and trimmed, memory stays flat across restarts.
        self._close_codec()
        codec = av.CodecContext.create("libx264", "w")
        codec.width = width
        codec.height = height
        codec.pix_fmt = s.chroma
        codec.time_base = TIME_BASE
        codec.framerate = fractions.Fraction(round(s.fps * 1000), 1000)
        codec.thread_count = self.threads
        # The first frame after a fresh start may use up to a few seconds of the rate (VBV
        # buffer, ratecontrol.vbv_bufsize: a new screen arrives readable in one frame). Once the
        # buffer is spent, frames get the rate / fps each: motion stays smooth.
        bufsize = vbv_bufsize(s.bitrate, new_screen)
        codec.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": str(self.crf),
            "maxrate": str(s.bitrate),
            "bufsize": str(bufsize),
            "forced-idr": "1",
            # Keyframes only when asked for (PLI/FIR) or after a reopen: they are the costliest
            # frames. CABAC (off in ultrafast) makes text ~10-30% smaller for some CPU, and
            # subme=2 with trellis another ~8% at the same PSNR (a text screen): worth it
            # where bytes are scarce, not where the frame rate is CPU-bound.
            "x264-params": f"keyint=infinite:scenecut=0:vbv-init={vbv_init}:"
                           + ("cabac=1:subme=2:trellis=1" if s.bitrate < CABAC_BELOW else "cabac=0"),
        }
        codec.open()
        self._codec = codec
        self._vbv_size, self._vbv_fill = float(bufsize), bufsize * vbv_init
        self._vbv_refill = s.bitrate / float(codec.framerate)
        self._open = s
        self.reopens += 1

    def encode(self, pts: int, keyframe: bool = False, refining: bool = False, may_reopen: bool = True) -> bytes:
        """The current picture as H.264 (Annex B); `pts` in TIME_BASE units, real time.
        `refining`: this is a re-encode of a still picture; `may_reopen`: False while
        another keyframe would come too soon after the last one (only a new size forces one)."""
        if self._picture is None:
            raise ValueError("nothing to encode yet")
        if self._needs_reopen(refining, may_reopen):
            # The very first picture is small and soon (vbv-init 0.3 below), not whole.
            self._create(*self.encoded_size(self._wanted), self._codec is not None and self._new_screen())
            keyframe = True
        self._changed_blocks[:] = False
        if refining:
            self._since_rest[:] = False
            self._frames_since_rest = 0
        elif keyframe:  # the new screen is on its way whole: no longer "after rest"
            self._since_rest[:] = False
            self._frames_since_rest = REST_FRAMES
        else:
            self._frames_since_rest += 1
        assert self._open is not None
        frame = self._picture
        if (frame.width, frame.height) != (self._codec.width, self._codec.height) or self._open.chroma != "yuv444p":
            frame = self._reformatter.reformat(frame, width=self._codec.width, height=self._codec.height,
                                               format=self._open.chroma, interpolation="AREA")
        frame.pts = pts
        frame.time_base = TIME_BASE
        frame.pict_type = av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        data = b"".join(bytes(p) for p in self._codec.encode(frame))
        self.last_keyframe = keyframe and bool(data)
        self.had_room = self._vbv_fill >= self._vbv_size * VBV_SETTLED
        self._vbv_fill = min(self._vbv_size, max(0.0, self._vbv_fill - len(data) * 8) + self._vbv_refill)
        if refining and len(data) <= REST_BYTES and self.had_room and not self._trimmed:
            # The picture is at rest: give back what capture and conversion used meanwhile
            # (the heap keeps it otherwise). A few ms, once per change, on this worker thread.
            self._trimmed = True
            trim_heap()
        elif not refining:
            self._trimmed = False
        if self.last_keyframe:
            self.keyframes += 1
        return data

    def _close_codec(self) -> None:
        if self._codec is not None:
            self._codec = None  # the only reference: PyAV frees the context (avcodec_free_context)
            trim_heap()

    def close(self) -> None:
        self._close_codec()


def trim_heap() -> None:
    """Give freed heap memory back to the system (glibc's malloc_trim; elsewhere nothing)."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None

# An access unit delimiter NAL: sent on its own right after each frame, with the RTP timestamp
# the next frame will carry. aiortc's receiver only passes a frame to its decoder when a packet
# with a newer timestamp arrives; without this every frame would wait for the next one (up to a
# whole idle period). The AUD then simply begins the next access unit, which is valid H.264.
AUD = b"\x00\x00\x00\x01\x09\xf0"


class SenderFeedback:
    """Routes the RTCP feedback our RTCRtpSender receives to the screen track and the estimator."""

    def __init__(self, on_keyframe_request: Callable[[], None], controller: LinkEstimator,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on_keyframe_request = on_keyframe_request
        self.controller = controller
        self.clock = clock
        self.keyframe_requests = 0
        self.nacked = 0  # packets the receiver asked to have retransmitted
        self.unrecoverable = 0  # NACKs for a packet the sender no longer had
        self.last_remb: int | None = None
        # Our recent sender reports (middle 32 bits of their NTP time -> when they were sent):
        # a receiver report may answer any of them, not only the latest.
        self._reports: dict[int, float] = {}

    def attach(self, sender: RTCRtpSender) -> None:
        # Instance attribute, not a class patch: only this sender is affected, and aiortc's own
        # handling (NACK retransmission, RTT, stats) still runs first.
        original = sender._handle_rtcp_packet

        async def handle(packet: Any) -> None:
            self._note_report(sender)
            await original(packet)
            self.observe(packet, sender._ssrc)
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                self.check_history(packet.lost, sender)

        sender._handle_rtcp_packet = handle  # type: ignore[method-assign]

    def check_history(self, lost: list[int], sender: RTCRtpSender) -> None:
        """A packet asked for that aiortc no longer keeps (it keeps the last RTP_HISTORY_SIZE)
        can never arrive: the receiver's picture is broken until a keyframe, so send one now
        rather than after the receiver gives up on it (repair.py)."""
        history = getattr(sender, "_RTCRtpSender__rtp_history", None)
        if history is None:
            return
        for seq in lost:
            kept = history.get(seq % RTP_HISTORY_SIZE)
            if kept is None or kept.sequence_number != seq:
                self.unrecoverable += 1
                self.on_keyframe_request()
                return

    def _note_report(self, sender: RTCRtpSender) -> None:
        # aiortc keeps the latest one private (it computes the same round trip for its stats).
        lsr = getattr(sender, "_RTCRtpSender__lsr", None)
        at = getattr(sender, "_RTCRtpSender__lsr_time", None)
        if lsr is not None and at is not None and lsr not in self._reports:
            self._reports[lsr] = at
            while len(self._reports) > 8:
                del self._reports[next(iter(self._reports))]

    def observe(self, packet: Any, ssrc: int) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.keyframe_requests += 1
            self.on_keyframe_request()
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self.nacked += len(packet.lost)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if ssrc in ssrcs:
                self.last_remb = bitrate
                self.controller.on_remb(bitrate, self.clock())
        elif isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc != ssrc:
                    continue
                rtt = None  # as RFC 3550 A.8: now - when the report it answers left - its delay
                sent_at = self._reports.get(report.lsr)
                if sent_at is not None and report.dlsr:
                    rtt = time.time() - sent_at - report.dlsr / 65536
                self.controller.on_report(report.fraction_lost / 256.0, self.clock(),
                                          rtt if rtt is not None and 0 < rtt < 10 else None)


class _PacedTransport:
    """Stands in for the sender's DTLS transport: spaces this sender's RTP packets at the pacing
    rate. RTCP passes at once (it measures the round trip). Packets are sent from timers, so the
    sender may hand over the next frame (and the track encode the one after) while this one is
    still leaving; it is held back only once more than BACKLOG seconds are booked. That is the
    encoder's back-pressure: it never runs further ahead of the link than that. Retransmissions
    (RTX) never wait: they answer a NACK, whose handling must not hold up the incoming RTCP."""

    BACKLOG = 0.1

    def __init__(self, real: Any, sender: RTCRtpSender, pacer: Pacer, rate: Callable[[], float]) -> None:
        self._real = real
        self._sender = sender
        self._pacer = pacer
        self._rate = rate
        self._last_due = 0.0  # monotonic time the latest packet on a timer is due
        self.paced_seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def _send_rtp(self, data: bytes) -> None:
        if not is_rtcp(data) and len(data) >= 12:
            now = time.monotonic()
            wait = self._pacer.schedule(len(data), now, self._rate())
            # Never overtake a packet still waiting on its timer: that would reorder the stream
            # (and read as loss at the receiver). Timers of equal time may fire in any order.
            if wait > 0.002 or self._last_due > now:
                self.paced_seconds += wait
                if wait > self.BACKLOG and int.from_bytes(data[8:12], "big") != self._sender._rtx_ssrc:
                    await asyncio.sleep(wait - self.BACKLOG)
                    now = time.monotonic()
                    wait = self.BACKLOG
                due = max(now + wait, self._last_due + 1e-6)
                self._last_due = due
                asyncio.get_running_loop().call_at(self._loop_time(due), self._send_later, data)
                return
        await self._real._send_rtp(data)

    @staticmethod
    def _loop_time(due: float) -> float:
        # asyncio's clock is time.monotonic() on every platform we run on; keep them apart anyway.
        loop = asyncio.get_running_loop()
        return loop.time() + (due - time.monotonic())

    def _send_later(self, data: bytes) -> None:
        task = asyncio.ensure_future(self._real._send_rtp(data))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a closed link: nothing to do


class PacedRtpSender(RTCRtpSender):
    """RTCRtpSender whose `transport` (what `_run_rtp` and `_retransmit` send through) paces."""

    _paced: _PacedTransport | None = None
    _pacing: tuple[Pacer, Callable[[], float]]

    @property
    def transport(self) -> Any:
        real = self._RTCRtpSender__transport  # type: ignore[attr-defined]
        if self._paced is None or self._paced._real is not real:
            self._paced = _PacedTransport(real, self, *self._pacing)
        return self._paced


def rtp_packet(data: bytes, pts: int) -> av.Packet:
    """An encoded frame as aiortc's H.264 sender takes it (a track that yields packets)."""
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = TIME_BASE
    return packet


def pace(sender: RTCRtpSender, pacer: Pacer, rate: Callable[[], float]) -> PacedRtpSender:
    """Make this sender instance pace its packets (aiortc has no pacer of its own)."""
    sender.__class__ = PacedRtpSender
    assert isinstance(sender, PacedRtpSender)
    sender._pacing = (pacer, rate)
    return sender
