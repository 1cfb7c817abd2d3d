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

Two hooks aiortc has no public API for (RTCP feedback on the sending side) go through one
wrapper of `RTCRtpSender._handle_rtcp_packet`, installed on our sender instance only:
keyframe requests (PLI/FIR) must reach the track even when the screen is idle and the sender is
waiting in `track.recv()`, and receiver reports / REMB must reach our bitrate controller.
"""

from __future__ import annotations

import fractions
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket, RtcpRrPacket, RtcpSrPacket, unpack_remb_fci

MIME = "video/H264"
TIME_BASE = fractions.Fraction(1, 90000)  # RTP's video clock, so pts map 1:1 onto RTP timestamps

# The receiver's jitter buffer (aiortc) holds 512 packets and NACK history on the sender is 128
# packets, so one frame larger than ~128 packets can neither be repaired by retransmission nor,
# much larger, be reassembled at all. Keep every frame well under that.
MAX_FRAME_BYTES = 120 * 1200


def prefer_h264(transceiver: RTCRtpTransceiver) -> None:
    """Negotiate only H.264 (and its RTX) on this transceiver: the track sends H.264 packets."""
    caps = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in caps if c.mimeType in (MIME, "video/rtx")])


@dataclass(frozen=True)
class RateSettings:
    bitrate: int  # bits per second the encoder may average (VBV max rate)
    fps: float  # most frames per second worth sending at that rate


class BitrateController:
    """Target bitrate and frame rate from what the receiver reports. Pure: no I/O, no clock reads.

    Signals, and how far each is trusted:
    - Loss in receiver reports (RTCP RR) is the firm one: above 10% the target drops in
      proportion, however low that goes (down to `floor`).
    - REMB from aiortc's delay-based estimator only ever falls when it detected overuse. aiortc
      sends each frame as one burst (it has no pacer) and its receiver timestamps packets in
      Python, so a busy receiver also reads as overuse. A falling REMB therefore lowers the target
      by at most 15% per report and never below `remb_floor` on its own; real congestion also
      shows up as loss, which takes it further down.
    - A REMB above the target raises it: the estimator only grows while the incoming rate keeps
      up, so this probes the path gradually. Screen sharing is application-limited most of the
      time, so an unchanged or low-but-not-falling REMB says nothing and is ignored.
    """

    def __init__(self, start: int = 8_000_000, floor: int = 300_000, remb_floor: int = 2_000_000,
                 ceiling: int = 40_000_000, max_fps: float = 40.0) -> None:
        self.floor = floor
        self.remb_floor = remb_floor
        self.ceiling = ceiling
        self.max_fps = max_fps
        self.target = max(floor, min(start, ceiling))
        self._last_remb: int | None = None
        self._sent: deque[tuple[float, int]] = deque()

    def on_sent(self, nbytes: int, now: float) -> None:
        self._sent.append((now, nbytes))
        while self._sent and self._sent[0][0] < now - 1.0:
            self._sent.popleft()

    def send_rate(self, now: float) -> float:
        """Bits per second actually sent over the last second."""
        return sum(n for t, n in self._sent if t >= now - 1.0) * 8.0

    def on_remb(self, bitrate: int, now: float) -> None:
        previous, self._last_remb = self._last_remb, bitrate
        if bitrate > self.target:
            self.target = min(self.ceiling, int(bitrate))
        elif previous is not None and bitrate < previous and self.target > self.remb_floor:
            self.target = max(self.remb_floor, int(bitrate), int(self.target * 0.85))

    def on_loss(self, fraction_lost: float) -> None:
        """`fraction_lost` in 0..1 from a receiver report."""
        if fraction_lost > 0.1:
            self.target = max(self.floor, int(self.target * (1 - 0.5 * fraction_lost)))

    def settings(self) -> RateSettings:
        # Fewer, better frames when the pipe is thin: text stays sharp, motion gets choppier.
        if self.target >= self.remb_floor:
            fps = self.max_fps
        elif self.target >= 800_000:
            fps = min(self.max_fps, 15.0)
        else:
            fps = min(self.max_fps, 8.0)
        return RateSettings(bitrate=self.target, fps=fps)


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class ScreenEncoder:
    """libx264, yuv444p, tuned for screens: zero latency, CRF quality capped by VBV. One thread only.

    The encoder keeps the whole picture in 4:4:4 and `apply` converts only the rectangles that
    changed (a scrolling terminal is a small fraction of a 1080p screen); `encode` then compresses
    the current picture into one Annex-B packet. A big change of rate settings reopens the
    encoder, whose next frame is then an IDR frame.
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
        self.keyframes = 0

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

    def _needs_reopen(self) -> bool:
        if self._codec is None or self._open is None or self._picture is None:
            return True
        if (self._codec.width, self._codec.height) != self.size:
            return True
        # Reopening costs a keyframe: only for a change of the frame rate or of the bitrate by
        # more than 40% (VBV caps frame sizes; CRF, not the bitrate, sets the quality).
        old, new = self._open, self._wanted
        return abs(new.bitrate - old.bitrate) > 0.4 * old.bitrate or new.fps != old.fps

    def _create(self, width: int, height: int) -> None:
        s = self._wanted
        codec = av.CodecContext.create("libx264", "w")
        codec.width = width
        codec.height = height
        codec.pix_fmt = "yuv444p"
        codec.time_base = TIME_BASE
        codec.framerate = fractions.Fraction(round(s.fps * 1000), 1000)
        codec.thread_count = self.threads
        # A frame may use a few average frames' worth of bits (VBV buffer), never more than the
        # jitter buffer / NACK history allow.
        bufsize = int(min(s.bitrate / s.fps * 3, MAX_FRAME_BYTES * 8))
        codec.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": str(self.crf),
            "maxrate": str(s.bitrate),
            "bufsize": str(bufsize),
            "forced-idr": "1",
            # Keyframes only when asked for (PLI/FIR) or after a reopen: they are the costliest frames.
            "x264-params": "keyint=infinite:scenecut=0",
        }
        codec.open()
        self._codec = codec
        self._open = s

    def encode(self, pts: int, keyframe: bool = False) -> bytes:
        """The current picture as H.264 (Annex B); `pts` in TIME_BASE units, real time."""
        if self._picture is None:
            raise ValueError("nothing to encode yet")
        if self._needs_reopen():
            self._create(self._picture.width, self._picture.height)
            keyframe = True
        frame = self._picture
        frame.pts = pts
        frame.time_base = TIME_BASE
        frame.pict_type = av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        data = b"".join(bytes(p) for p in self._codec.encode(frame))
        if keyframe and data:
            self.keyframes += 1
        return data

    def close(self) -> None:
        self._codec = None


# An access unit delimiter NAL: sent on its own right after each frame, with the RTP timestamp
# the next frame will carry. aiortc's receiver only passes a frame to its decoder when a packet
# with a newer timestamp arrives; without this every frame would wait for the next one (up to a
# whole idle period). The AUD then simply begins the next access unit, which is valid H.264.
AUD = b"\x00\x00\x00\x01\x09\xf0"


class SenderFeedback:
    """Routes the RTCP feedback our RTCRtpSender receives to the screen track and controller."""

    def __init__(self, on_keyframe_request: Callable[[], None], controller: BitrateController,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.on_keyframe_request = on_keyframe_request
        self.controller = controller
        self.clock = clock
        self.keyframe_requests = 0
        self.last_remb: int | None = None

    def attach(self, sender: RTCRtpSender) -> None:
        # Instance attribute, not a class patch: only this sender is affected, and aiortc's own
        # handling (NACK retransmission, RTT, stats) still runs first.
        original = sender._handle_rtcp_packet

        async def handle(packet: Any) -> None:
            await original(packet)
            self.observe(packet, sender._ssrc)

        sender._handle_rtcp_packet = handle  # type: ignore[method-assign]

    def observe(self, packet: Any, ssrc: int) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.keyframe_requests += 1
            self.on_keyframe_request()
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
                if report.ssrc == ssrc:
                    self.controller.on_loss(report.fraction_lost / 256.0)
