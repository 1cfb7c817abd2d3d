"""How fast the screen may be sent, when a keyframe may go, and how packets are spaced. Pure.

No I/O, no clock reads, no asyncio or aiortc: the caller passes the time and what it observed
(RTCP receiver reports, REMB, bytes sent, keyframe requests) and gets decisions back.

- `LinkEstimator`: the sending rate. It starts low and probes up (doubling per receiver report
  while the link carries what we send, gently after the first sign of congestion; while we send
  less than the rate, up to a few times what the link carried if it shows no loss or queue) and
  backs off to 85% of what was delivered when the link shows congestion: loss, or queueing
  delay (the round-trip time grown above its recent minimum). REMB (the receiver's delay-based estimate)
  lowers the rate only when our own signals agree: a busy receiver timestamps packets late in
  Python and would otherwise read as congestion. It starts at 1.5 Mbit/s: below a 2 Mbit/s DSL
  uplink, so the first full screen does not overflow its queue. `settings()` maps the rate onto the
  degradation ladder: first fewer frames, then a smaller picture, then 4:2:0 chroma.
- `KeyframeLimiter`: a keyframe request while a keyframe is in flight (being sent, plus one round
  trip and a frame time for the receiver to see it) is ignored: the receiver asked before it
  could have seen it. Others wait until a second has passed since the previous keyframe, so
  loss can never cause a keyframe storm (each keyframe is the costliest frame there is).
- `Pacer`: spreads packets at a rate so a big frame does not overflow a short router queue
  (aiortc sends each frame as one burst).
- `FrameRate`: the frame rate for motion. The ladder's is a floor: when motion frames are small
  enough that the target carries more of them, more go (else the ladder's cap would keep the
  sender application-limited, and the estimator would never see that the link carries more).
- `vbv_bufsize` and `reopen_wanted`: how much one frame may cost, and when the encoder starts
  afresh (a keyframe) for a new rate or a new picture.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# Bytes each RTP packet costs the link besides itself: SRTP tag 10, UDP 8, IPv4 20, Ethernet 14
# (~4% of a full packet: a pacer at a 2 Mbit/s link's rate would otherwise overfill its queue).
WIRE_OVERHEAD = 52
PACE_FACTOR = 1.0  # packets leave at the target: a big frame above it would overflow a short router queue
BACKOFF = 0.85  # on congestion: this fraction of what the link delivered
# The round trip is measured in Python at both ends (RTCP sender and receiver reports), so a busy
# machine adds tens, at times hundreds of, milliseconds to one sample: delay alone means congestion
# only when it stays (a standing queue); a short router queue overflows first and shows as loss.
DELAY_STANDING = 0.080  # s of queueing delay in two reports in a row: a standing queue, congestion
DELAY_RISING = 0.030  # s of queueing delay that, with loss, means congestion
REMB_QUEUE = 0.020  # s of queueing delay that, in two round trips in a row, lets REMB lower the rate
DELAY_HOLD = 0.060  # s of queueing delay that stops probing
LOSS_CONGESTED = 0.05  # loss that means congestion whatever the delay (random loss stays below)
LOSS_HOLD = 0.03  # above this, random-looking loss stops probing but does not cut the rate
MIN_RTT_WINDOW = 30.0  # s over which the smallest round trip counts as the empty-queue one
BIG_FRAME_SPAN = 3.0  # s after it left during which one big frame still speaks for the link
ALR_HEADROOM = 2.0  # slow start while application-limited: up to this many times the rate sent
ALR_HEADROOM_AFTER = 1.5  # and once the link has shown congestion (libwebrtc's bound)
REPROBE_AFTER = 10.0  # s without congestion before probing faster again
KEYFRAME_INTERVAL = 1.0  # s: at most one keyframe per this interval
SCALE_HYSTERESIS = 1.2  # the rate must exceed a ladder step's threshold by this much to climb back
SCALE_HOLD = 10.0  # s a new picture size or chroma must stay wanted before it is used (a keyframe)
# One frame's most: a readable 1080p text screen in one frame is ~360 kB (QP 26, 39 dB), sharp is
# ~480 kB (CRF 20); libx264 overshoots this by ~15%; aiortc's receiver reassembles frames of up
# to 512 packets (~600 kB).
MAX_FRAME_BYTES = 360_000
MOTION_VBV_BYTES = 300_000  # the VBV buffer of an encoder started afresh for anything else
VBV_SECONDS = 5.0  # and no more than this many seconds of the rate
# libx264 without lookahead lets one frame take at most half of what its VBV buffer holds, and
# a reopened encoder starts the buffer this full.
VBV_FRAME_SHARE = 0.5
VBV_INIT = 0.9
REST_FRAMES = 3  # a new screen after rest: painted within this many frames
# Loss (smoothed over reports) from which a new screen goes in capped frames, not one big frame:
# a frame of ~350 packets is shown only once every lost one has been retransmitted, while
# capped frames each sharpen the picture as they come.
WHOLE_SCREEN_LOSS = 0.01
# Only below this rate: on a fast link bytes are cheap and capped frames show a first picture
# sooner, and their steady traffic lets the rate probe up faster than one frame a screen does.
WHOLE_SCREEN_BELOW = 3_000_000
# Motion may fill this share of the target with more frames than the ladder's frame rate: above
# the share the estimator counts as a test of the link (0.75 in `LinkEstimator.tested`), below 1
# so the pacer seldom holds a frame back.
DEMAND_SHARE = 0.9
DEMAND_WINDOW = 1.0  # s of recent motion frames whose mean size sets the frame rate
DEMAND_FRAMES = 3  # fewer motion frames than this in the window: no motion, the ladder's rate
PACKET_PAYLOAD = 1200  # bytes of a frame per RTP packet (aiortc's H.264 packetizer: ~1300 with headers)


@dataclass(frozen=True)
class RateSettings:
    bitrate: int  # bits per second the encoder may average (VBV max rate)
    fps: float  # most frames per second worth sending at that rate
    scale: float = 1.0  # fraction of the screen's width and height that is encoded
    chroma: str = "yuv444p"  # yuv444p keeps coloured text sharp; yuv420p costs half the chroma
    whole_screens: bool = True  # a new screen may go as one big frame (see vbv_bufsize)


# The degradation ladder, thickest link first: (rate from which this step applies, fps, scale, chroma).
# Full resolution and 4:4:4 hold down to 350 kbit/s: a readable 1080p text screen is ~450 kB,
# which still arrives within 10 s there; motion pays first (frame rate). The frame rate also sets
# what one frame may cost (libx264 refills its VBV buffer by rate / fps per frame), so fewer,
# larger frames on a thin link also sharpen a still screen with fewer bytes.
LADDER: tuple[tuple[int, float | None, float, str], ...] = (
    (3_000_000, None, 1.0, "yuv444p"),  # None: the maximum frame rate
    (1_200_000, 20.0, 1.0, "yuv444p"),
    (600_000, 6.0, 1.0, "yuv444p"),
    (350_000, 3.0, 1.0, "yuv444p"),
    (220_000, 3.0, 0.75, "yuv444p"),
    (150_000, 2.0, 0.5, "yuv444p"),
    (0, 2.0, 0.5, "yuv420p"),
)


def vbv_bufsize(bitrate: int, new_screen: bool) -> int:
    """libx264's VBV buffer, in bits, for a target rate, never more than VBV_SECONDS of it.

    For a new screen after rest: big enough that its first frame may carry the whole screen
    readable (MAX_FRAME_BYTES). One big frame beats many capped ones: those re-code the same
    residue over and over (a text screen needs ~25% more bytes to become readable that way).
    Otherwise (a new rate or a keyframe request, maybe during motion) a third of that: a big
    keyframe would stall the motion for seconds on a thin link."""
    frame = MAX_FRAME_BYTES if new_screen else MOTION_VBV_BYTES * VBV_FRAME_SHARE * VBV_INIT
    return int(min(bitrate * VBV_SECONDS, frame * 8 / (VBV_FRAME_SHARE * VBV_INIT)))


def reopen_wanted(old: RateSettings, new: RateSettings, changed: float, new_screen: bool,
                  refining: bool) -> bool:
    """Whether to start the encoder afresh (a keyframe) at the new rate, when the picture size
    and chroma are unchanged and a keyframe is allowed now.

    `changed`: fraction of the picture changed since the last frame; `new_screen`: most of the
    picture changed within the last few frames after the screen was at rest (applications paint
    a new screen in bands, so it may come in two or three frames); `refining`: this frame
    re-encodes a still picture.

    libx264 refills its VBV buffer by rate / fps per frame encoded, whatever the time, so after a
    still screen was sharpened the buffer is nearly empty and a new screen would trickle out in
    small frames. A new screen after rest costs about a keyframe anyway: starting afresh brings
    a full buffer, and it arrives in one frame. Not during motion: a video playing full screen
    would then send a buffer's worth every second."""
    ratio = (new.bitrate / new.fps) / (old.bitrate / old.fps)
    if new_screen:
        return True
    if changed >= 0.5:
        return not 0.77 < ratio < 1.3  # this frame costs about a keyframe anyway
    if ratio < 0.5:
        return True  # the link fell: frames this big would take long to pace out
    # Far below the link: worth a keyframe with the next change, not on a still picture (the
    # viewer would see it blur again, and an idle screen would cost CPU).
    return ratio >= 4 and not refining


class LinkEstimator:
    """The target sending rate from loss, round-trip time, REMB and what was actually sent."""

    def __init__(self, start: int = 1_500_000, floor: int = 100_000, ceiling: int = 40_000_000,
                 max_fps: float = 40.0) -> None:
        self.floor = floor
        self.ceiling = ceiling
        self.max_fps = max_fps
        self.target = max(floor, min(start, ceiling))
        self.slow_start = True
        self.rtt: float | None = None
        self.min_rtt: float | None = None
        self.loss = 0.0
        self.loss_avg = 0.0  # smoothed over reports that showed no congestion
        self.last_remb: int | None = None
        self.decreases = 0
        self._rtts: deque[tuple[float, float]] = deque()
        self._sent: deque[tuple[float, int, float]] = deque()  # (when, bytes, pacing rate then)
        self._hold_until = float("-inf")
        self._last_congestion = float("-inf")
        self._last_good = 0.0  # what the link delivered when it last showed congestion
        self._last_report: float | None = None
        self._delayed_reports = 0  # fresh reports in a row with a standing queue
        self._rtt_at = float("-inf")
        self._queued_samples = 0  # round trips in a row that showed REMB_QUEUE of queue
        self._remb_hold_until = float("-inf")
        self._step = 0  # index into LADDER, with hysteresis
        self._wanted_form: tuple[float, str] | None = None
        self._wanted_since = 0.0

    # ------------------------------------------------------------------ inputs

    def on_sent(self, nbytes: int, now: float) -> None:
        self._sent.append((now, nbytes, self.pace_rate))
        while self._sent and self._sent[0][0] < now - 5.0:
            self._sent.popleft()

    def send_rate(self, now: float, window: float = 1.0) -> float:
        """Bits per second handed to the network over the last `window` seconds."""
        return sum(n for t, n, _ in self._sent if t > now - window) * 8.0 / window

    def tested(self, now: float, window: float) -> bool:
        """Whether what we sent tested the link at the target: on average over the last `window`
        seconds, or with one frame big enough to keep the pacer busy at (about) the target for
        half a second (a new screen in one frame, then a still screen) that left within the
        last BIG_FRAME_SPAN seconds (a report or two may be spoilt by a busy machine's round
        trip). Only what had left a round trip before `now` counts: the report cannot speak for
        the rest yet."""
        done = self._settled(now)
        average = self.delivered_rate(now, window, done)
        big = any(n * 8.0 / rate >= 0.5 * 0.75 and rate >= 0.75 * self.target and end > now - BIG_FRAME_SPAN
                  for _, n, rate, end in done)
        return big or average >= 0.75 * self.target

    def _settled(self, now: float) -> list[tuple[float, int, float, float]]:
        """(when, bytes, pacing rate, when its pacing ended) of what had left a round trip before
        `now`: a report at `now` speaks only for that."""
        settled = now - (self.rtt or 0.0)
        done = [(t, n, rate, t + n * 8.0 / max(rate, 1.0)) for t, n, rate in self._sent]
        return [entry for entry in done if entry[3] <= settled]

    def delivered_rate(self, now: float, window: float,
                       done: list[tuple[float, int, float, float]] | None = None) -> float:
        """Bits per second sent over the last `window` seconds that a report at `now` covers."""
        done = self._settled(now) if done is None else done
        return sum(n for t, n, _, _ in done if t > now - window) * 8.0 / window

    def on_rtt(self, rtt: float, now: float) -> None:
        if rtt <= 0:
            return
        self.rtt = rtt
        self._rtt_at = now
        self._rtts.append((now, rtt))
        while self._rtts and self._rtts[0][0] < now - MIN_RTT_WINDOW:
            self._rtts.popleft()
        self.min_rtt = min(r for _, r in self._rtts)
        self._queued_samples = self._queued_samples + 1 if self.queue_delay > REMB_QUEUE else 0

    @property
    def queue_delay(self) -> float:
        """How much the latest round trip exceeds the smallest recent one: time spent queued."""
        if self.rtt is None or self.min_rtt is None:
            return 0.0
        return self.rtt - self.min_rtt

    def on_report(self, fraction_lost: float, now: float, rtt: float | None = None) -> None:
        """A receiver report: `fraction_lost` in 0..1 since the previous one, and the round trip
        it measured (None when it could not: then only loss speaks)."""
        if rtt is not None:
            self.on_rtt(rtt, now)
        self.loss = fraction_lost
        window = 1.0 if self._last_report is None else min(3.0, max(0.5, now - self._last_report))
        self._last_report = now
        sent = self.send_rate(now, window)
        delay = self.queue_delay if rtt is not None else 0.0  # a stale sample says nothing new
        if rtt is not None:
            self._delayed_reports = self._delayed_reports + 1 if delay > DELAY_STANDING else 0
        congested = (fraction_lost > LOSS_CONGESTED or self._delayed_reports >= 2
                     or (fraction_lost > 0.025 and delay > DELAY_RISING))
        if not congested:  # random loss (congestion's own loss goes with the rate cut)
            self.loss_avg = 0.7 * self.loss_avg + 0.3 * fraction_lost
        if congested:
            # Sending about the target: the link delivered less than that (what went out minus
            # what was lost), so go below what it delivered. Sending less (a big frame paced at
            # the target overflowed the queue; or an idle screen, which says nothing): the link
            # delivered about the lost share less than the pace of what we did send. (A start at
            # 1.5 Mbit/s on a 500 kbit/s link loses ~60%: cutting only 15% from the target kept
            # losing half the packets for seconds.)
            delivered = sent * (1 - fraction_lost)
            paced = self.target * (1 - min(fraction_lost, 0.8))
            base = min(self.target, delivered) if sent >= 0.75 * self.target else paced
            if now >= self._hold_until:
                self._last_good = base
            self._decrease(base * BACKOFF, now)
            return
        if delay > DELAY_HOLD or fraction_lost > LOSS_HOLD or now < self._hold_until:
            return
        factor = self._probe_factor(now)
        if not self.tested(now, window):
            # Application-limited: the link was not tested at this rate. On a clean link the rate
            # still climbs, up to a few times what the link just carried (libwebrtc bounds its
            # estimate by throughput likewise): a 1080p scrolling region sends ~2 Mbit/s at 20 fps
            # (or a CPU-bound encoder at 30), which otherwise held the rate below the 3 Mbit/s
            # step of the ladder (20 fps; and CABAC and trellis, twice the CPU per frame) for good.
            if self.clean():
                headroom = ALR_HEADROOM if self.slow_start else ALR_HEADROOM_AFTER
                cap = headroom * self.delivered_rate(now, window)
                self.target = max(self.target, min(self.ceiling, int(min(cap, self.target * factor))))
            return
        self.target = min(self.ceiling, int(self.target * factor))

    def _probe_factor(self, now: float) -> float:
        if self.slow_start:
            return 2.0
        if self.target < 0.9 * self._last_good:
            return 1.25  # back up quickly to where the link last held
        if now - self._last_congestion > REPROBE_AFTER:
            return 1.1  # long quiet: maybe the link got better
        return 1.05  # near where it broke last time: gently

    def on_remb(self, bitrate: int, now: float) -> None:
        previous, self.last_remb = self.last_remb, bitrate
        falling = previous is not None and bitrate < previous and bitrate < self.target
        recent = now - self._rtt_at < 2.0
        # A queue in two round trips in a row: one alone is too often a busy event loop at either
        # end (on loopback such samples cut the rate towards a busy receiver's REMB, ~0.5 Mbit/s).
        corroborated = (recent and self._queued_samples >= 2) or self.loss > 0.02
        if falling and corroborated and now >= self._remb_hold_until:
            # At most 15% a second, and without the hold a report's cut sets: a receiver report
            # that measures congestion may still cut deeper right after.
            self.target = max(self.floor, min(self.target, int(max(bitrate, self.target * BACKOFF))))
            self._remb_hold_until = now + 1.0

    def _decrease(self, rate: float, now: float) -> None:
        if now < self._hold_until:
            return  # the previous cut has not had time to drain the queue yet
        self.target = max(self.floor, min(self.target, int(rate)))
        self.slow_start = False
        self.decreases += 1
        self._last_congestion = now
        # The next receiver report may still cover time before the cut (they come every 0.5 to
        # 1.5 s), and the queue needs a round trip or two to drain.
        self._hold_until = now + max(2.0, 3 * (self.rtt or 0.0))

    # ------------------------------------------------------------------ outputs

    def clean(self) -> bool:
        """The latest report showed no loss and no queue to speak of (a good link, as far as we
        know). Only then may motion fill the target with more frames (FrameRate): on a link at
        its limit that would only lengthen the queue."""
        return self.loss == 0.0 and self.loss_avg < WHOLE_SCREEN_LOSS and self.queue_delay < DELAY_RISING

    @property
    def pace_rate(self) -> float:
        return self.target * PACE_FACTOR

    def settings(self, now: float | None = None) -> RateSettings:
        """Encoder settings for the current target: the degradation ladder, with hysteresis.

        A new frame rate applies at once. A new picture size or chroma costs a keyframe (a whole
        screen to send again), so it applies only once wanted for SCALE_HOLD seconds; without
        `now`, at once."""
        step = next(i for i, (low, *_rest) in enumerate(LADDER) if self.target >= low)
        if step < self._step and self.target < LADDER[self._step - 1][0] * SCALE_HYSTERESIS:
            step = self._step  # climbing back only once clearly above the threshold
        form = LADDER[self._step][2:]  # (scale, chroma) in use
        if now is not None and LADDER[step][2:] != form:
            if LADDER[step][2:] != self._wanted_form:
                self._wanted_form, self._wanted_since = LADDER[step][2:], now
            if now - self._wanted_since < SCALE_HOLD:  # not yet: the nearest step of this form
                same = [i for i, row in enumerate(LADDER) if row[2:] == form]
                step = min(max(step, same[0]), same[-1])
        else:
            self._wanted_form = None
        self._step = step
        _, fps, scale, chroma = LADDER[step]
        return RateSettings(self.target, min(self.max_fps, fps or self.max_fps), scale, chroma,
                            whole_screens=self.loss_avg < WHOLE_SCREEN_LOSS and self.target < WHOLE_SCREEN_BELOW)


class FrameRate:
    """The frame rate for motion, from the rate settings and the sizes of recent motion frames.

    The ladder's frame rate makes frames bigger (sharper) on a thin link. But when libx264's CRF
    makes motion frames smaller than rate / fps (a scrolling region on a good link), that cap
    leaves most of the target unused: the sender is application-limited, so the estimator never
    sees the link carry more and never climbs to the next step of the ladder (a 1080p scrolling
    region at 20 fps sent ~2 Mbit/s and held the target below 3 Mbit/s on loopback). So motion
    gets as many frames as fill DEMAND_SHARE of the target at their recent mean size (never
    fewer than the ladder's, never more than `max_fps`), while the link shows neither loss nor a
    queue: the sender then tests the link at about the target, and the estimate climbs as far
    as the link really carries (libwebrtc probes an application-limited link with padding
    instead; these frames are the probe)."""

    def __init__(self, window: float = DEMAND_WINDOW) -> None:
        self.window = window
        self._frames: deque[tuple[float, int]] = deque()

    def on_frame(self, nbytes: int, now: float) -> None:
        """A motion frame (a new picture, not a keyframe or a re-encode of a still one) left."""
        self._frames.append((now, nbytes))
        self._prune(now)

    def _prune(self, now: float) -> None:
        while self._frames and self._frames[0][0] <= now - self.window:
            self._frames.popleft()

    def fps(self, settings: RateSettings, now: float, max_fps: float, clean: bool = True) -> float:
        """`clean`: the link shows no loss and no queue (LinkEstimator.clean); else the ladder's."""
        self._prune(now)
        if not clean or len(self._frames) < DEMAND_FRAMES or settings.fps >= max_fps:
            return settings.fps
        mean = sum(n for _, n in self._frames) / len(self._frames)
        bits = 8.0 * (mean + WIRE_OVERHEAD * -(-mean // PACKET_PAYLOAD))
        return min(max_fps, max(settings.fps, DEMAND_SHARE * settings.bitrate / max(bits, 1.0)))


class KeyframeLimiter:
    """Which keyframe requests (PLI/FIR) to answer, and when."""

    def __init__(self, interval: float = KEYFRAME_INTERVAL) -> None:
        self.interval = interval
        self.wanted = False
        self.requests = 0
        self.ignored = 0
        self.last_sent = float("-inf")
        self.in_flight_until = float("-inf")

    def request(self, now: float) -> None:
        self.requests += 1
        if now < self.in_flight_until:
            self.ignored += 1  # asked before the keyframe on its way could have arrived
            return
        self.wanted = True

    def due(self, now: float) -> float | None:
        """None: no keyframe wanted; else seconds until one may be sent (0: now)."""
        if not self.wanted:
            return None
        return max(0.0, self.last_sent + self.interval - now)

    def sent(self, now: float, send_seconds: float, rtt: float, frame_time: float) -> None:
        """A keyframe left at `now` (asked for or not); it takes `send_seconds` to transmit."""
        self.wanted = False
        self.last_sent = now
        self.in_flight_until = now + send_seconds + rtt + frame_time


class Pacer:
    """A virtual clock of when the link (at the pacing rate) is free again.

    A packet may go `burst` seconds ahead of that clock, so a small frame leaves at once and only
    big ones are spread out. `overhead`: bytes the link carries with each packet besides it
    (WIRE_OVERHEAD for RTP): without them a pacer at the link's rate overfills its queue."""

    def __init__(self, burst: float = 0.005, overhead: int = 0) -> None:
        self.burst = burst
        self.overhead = overhead
        self._free_at = float("-inf")

    def schedule(self, nbytes: int, now: float, rate: float) -> float:
        """Book a packet of `nbytes` at `rate` bit/s; returns how long to wait before sending it."""
        start = max(self._free_at, now - self.burst)
        self._free_at = start + (nbytes + self.overhead) * 8.0 / max(rate, 1.0)
        return max(0.0, start - now)

    def backlog(self, now: float) -> float:
        """Seconds of booked packets not yet due."""
        return max(0.0, self._free_at - now)
