"""Screen-sharing benchmark under Xvfb at 1920x1080, per link: text quality, frame rate, latency,
keyframes, idle CPU, RSS.

Three processes per run, like the real thing: a painter (an "application" drawing on the X
screen), the host (ScreenTrack: capture, encode, paced aiortc sender) and the viewer (a run
process: aiortc receiver and decoder, which also drives the other two). They share
CLOCK_MONOTONIC, so glass-to-glass latency is measured from the moment the painter's drawing is
complete on the X server to the moment the viewer holds the decoded frame showing it. The
painter stamps a 16-bit frame counter as black/white blocks (and its complement, to reject
half-decoded values) into the moving region; the viewer reads the blocks back from the luma plane.

Links: "unlimited" is loopback with nothing in between (the figures from before rate control).
The others put the host and the viewer in two network namespaces (tests/netns.py) and shape what
the host sends (tests/netshape.py): tbf for the rate with a 100 ms router queue, iptables
`statistic` for random loss (each way) and an NFQUEUE delayer for delay (each way), or tc netem
where the kernel has it; the output says which was used. The delayer needs the netfilterqueue
module (apt-get install libnetfilter-queue-dev; pip install NetfilterQueue).

Figures (medians over runs; each run also takes the median over three text screens):
- readable_s: a full screen of small coloured terminal text is painted; seconds until the
  viewer's picture is readable (>= 38 dB RGB PSNR against an mss grab of the screen), checked
  every 0.1 s; a screen that never gets there counts as the link's deadline.
- text_psnr_1s_db: the viewer's picture 1 s after the change (also when it was readable earlier),
  as measured before rate control.
- fps / latency: a 960x540 region scrolls text and changes its counter ~60 times a second for
  several seconds; fps = distinct counters decoded per second at the viewer; glass-to-glass
  latency median and p90.
- keyframes: how many the host sent over the run, per second, and the most within any second;
  keyframe_requests: PLI/FIR the viewer sent.
- idle CPU: host process CPU time over 5 s of an unchanging screen, in % of one core.
- RSS: host resident set size at the end (and its peak).
The load average is printed with each link: the machine may be shared.

Usage: python3 scripts/bench_video.py [--runs 3] [--move-seconds 6] [--links 2mbit,500kbit,...]
(root for the shaped links; BENCH_LOG=file logs every frame the host encodes)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from jsonchild import JsonChild, answer_offer, commands, process_cpu  # noqa: E402  (scripts/ is on the path: the script's own folder)

REGION = (480, 270, 960, 540)  # x, y, w, h of the moving region
BLOCK = 16  # counter block size in pixels
BITS = 16
READABLE_DB = 38.0


# ---------------------------------------------------------------- painter (child process)

def painter_main() -> None:
    import mss

    from tests.media.conftest import Painter, text_screen

    painter = Painter(os.environ["DISPLAY"])
    tall = np.concatenate([text_screen(REGION[2], REGION[3], seed=s) for s in range(4)])
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["do"] == "text":
            painter.put(text_screen(seed=cmd["seed"]))
            painted = time.monotonic()
            with mss.MSS(with_cursor=True) as sct:
                shot = sct.grab(sct.monitors[1])
            bgra = np.frombuffer(shot.raw, np.uint8).reshape(shot.height, shot.width, 4)
            np.save(cmd["path"], bgra[..., 2::-1])
            print(json.dumps({"painted": painted}), flush=True)
        elif cmd["do"] == "move":
            stamps = []
            end = time.monotonic() + cmd["seconds"]
            counter = cmd["start"]
            offset = 0
            while time.monotonic() < end:
                x, y, w, h = REGION
                region = np.ascontiguousarray(tall[offset:offset + h])
                region = stamp(region, counter)
                painter.put(region, x, y)
                stamps.append((counter, time.monotonic()))
                counter = (counter + 1) % (1 << BITS)
                offset = (offset + 3) % (tall.shape[0] - h)
                time.sleep(max(0.0, 1 / 60 - (time.monotonic() - stamps[-1][1])))
            print(json.dumps({"stamps": stamps}), flush=True)
        elif cmd["do"] == "quit":
            break


def stamp(region: np.ndarray, counter: int) -> np.ndarray:
    region = region.copy()
    for i in range(BITS):
        bit = (counter >> i) & 1
        region[0:BLOCK, i * BLOCK:(i + 1) * BLOCK] = 255 if bit else 0
        region[BLOCK:2 * BLOCK, i * BLOCK:(i + 1) * BLOCK] = 0 if bit else 255
    return region


def read_counter(frame: Any) -> int | None:
    """The counter stamped in a decoded frame, from its luma plane; None if unreadable."""
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
    x0, y0 = REGION[0], REGION[1]
    value = 0
    for i in range(BITS):
        cx = x0 + i * BLOCK + BLOCK // 2
        top = luma[y0 + BLOCK // 2, cx] > 128
        bottom = luma[y0 + BLOCK + BLOCK // 2, cx] > 128
        if top == bottom:
            return None
        value |= int(top) << i
    return value


# ---------------------------------------------------------------- host (child process)

async def host_async() -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection

    from rassist.media.capture import pick_monitor
    from rassist.media.screen_track import ScreenTrack, attach_sender

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = ScreenTrack(pick_monitor())
    controller = track.controller
    transceiver = pc.addTransceiver(track, direction="sendonly")
    feedback = attach_sender(track, transceiver)
    keyframe_times: list[float] = []
    log = open(os.environ["BENCH_LOG"], "a", buffering=1) if os.environ.get("BENCH_LOG") else None

    def on_frame(line: str) -> None:
        if track.encoder.last_keyframe:
            keyframe_times.append(time.monotonic())
        if log is not None:
            log.write(f"{line} at={time.monotonic():.3f} target={controller.target} rtt={controller.rtt} "
                      f"loss={controller.loss} remb={feedback.last_remb}\n")

    track.log = on_frame
    async for cmd in commands():
        if cmd["do"] == "offer":
            print(json.dumps({"sdp": await answer_offer(pc, cmd["sdp"])}), flush=True)
        elif cmd["do"] == "stats":
            print(json.dumps({"frames": track.frames_sent, "bytes": track.bytes_sent,
                              "keyframes": track.encoder.keyframes, "keyframe_times": keyframe_times,
                              "pli": feedback.keyframe_requests, "pli_ignored": track.limiter.ignored,
                              "nacked": feedback.nacked, "reopens": track.encoder.reopens,
                              "decreases": controller.decreases, "target": controller.target,
                              "rtt": controller.rtt, "remb": feedback.last_remb,
                              "capture": track.capturer.mode, "grabs": track.capturer.grabs,
                              "encode_s": round(track.encode_seconds, 3),
                              "convert_s": round(track.convert_seconds, 3)}), flush=True)
    await pc.close()


# ---------------------------------------------------------------- viewer / orchestration

class Child(JsonChild):
    def __init__(self, role: str, env: dict[str, str], prefix: list[str] | None = None,
                 args: list[str] | None = None) -> None:
        super().__init__([*(prefix or []), sys.executable, __file__, "--role", role, *(args or [])], env)



def own_cpu() -> float:
    usage = os.times()
    return usage.user + usage.system


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


async def until_readable(viewer: Any, truth: np.ndarray, painted: float, deadline: float,
                         at: float = 1.0) -> tuple[float, float]:
    """(seconds from painting until the viewer's picture reached READABLE_DB, or nan if it did
    not within `deadline`; PSNR of the viewer's picture `at` seconds after painting).

    PSNR runs in a worker thread: on the event loop it would delay the viewer's RTCP and so
    disturb the round trips the host measures."""
    loop = asyncio.get_running_loop()

    def score(frame: Any) -> float:
        return psnr(frame.to_ndarray(format="rgb24"), truth)

    checked = None
    psnr_at = float("nan")
    readable = float("nan")
    while True:
        now = time.monotonic()
        if math.isnan(psnr_at) and now >= painted + at and viewer.latest is not None:
            psnr_at = await loop.run_in_executor(None, score, viewer.latest)
        frame, arrived = viewer.latest, viewer.latest_at
        if math.isnan(readable) and frame is not None and frame is not checked and arrived > painted:
            checked = frame
            if await loop.run_in_executor(None, score, frame) >= READABLE_DB:
                readable = arrived - painted
        # Readable early: still the picture held `at` seconds after the change (as before rate
        # control), which refinement has made sharper since.
        if not math.isnan(readable) and not math.isnan(psnr_at):
            return readable, psnr_at
        if now > painted + deadline:
            return readable, psnr_at
        await asyncio.sleep(0.1 if math.isnan(readable) else max(0.01, painted + at - now))


async def one_run(env: dict[str, str], move_seconds: float, tmp: Path, host_prefix: list[str],
                  deadline: float, quick: bool = False) -> dict[str, float]:
    """One run's figures; `quick`: one text screen only, no motion or idle phase (for tests)."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from rassist.media.codec import prefer_h264
    from rassist.media.viewer import receiver_of
    from rassist.media.viewer import ScreenViewer

    loop = asyncio.get_running_loop()
    painter = Child("painter", env)
    host = Child("host", env, prefix=host_prefix)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    seen: dict[int, float] = {}

    def on_frame(frame: Any) -> None:
        value = read_counter(frame)
        if value is not None and value not in seen:
            seen[value] = time.monotonic()

    viewer = ScreenViewer(on_frame=on_frame)
    viewer.full_size = (1920, 1080)
    prefer_h264(pc.addTransceiver("video", direction="recvonly"))
    pc.on("track", lambda track: viewer.attach(track, receiver_of(pc, track)))
    result: dict[str, float] = {}
    started = time.monotonic()
    try:
        warm = tmp / "warm.npy"
        reply = await loop.run_in_executor(None, lambda: painter.ask(do="text", seed=100, path=str(warm)))
        await pc.setLocalDescription(await pc.createOffer())
        answer = await loop.run_in_executor(None, lambda: host.ask(do="offer", sdp=pc.localDescription.sdp))
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await viewer.next_frame(after=0, timeout=30)
        # The first picture also probes the link; let it settle before measuring.
        await until_readable(viewer, np.load(warm), reply["painted"], deadline)
        await asyncio.sleep(2.0)

        # Static text: how long until readable, and PSNR 1 s after the change.
        times, scores = [], []
        for seed in (1,) if quick else (1, 2, 3):
            path = tmp / f"text{seed}.npy"
            reply = await loop.run_in_executor(None, lambda: painter.ask(do="text", seed=seed, path=str(path)))
            took, at_1s = await until_readable(viewer, np.load(path), reply["painted"], deadline)
            times.append(took)
            scores.append(at_1s)
            if math.isnan(took):
                print("  not readable: " + receiver_state(pc), file=sys.stderr)
            print(f"  text {seed}: readable after {took:.2f} s, {at_1s:.1f} dB at 1 s (painted at "
                  f"{reply['painted']:.3f})", file=sys.stderr)
            await asyncio.sleep(1.5)
        result["text_psnr_1s_db"] = statistics.median(scores)
        # A run that never got readable counts as the deadline (the median then shows it).
        result["readable_s"] = statistics.median(deadline if math.isnan(t) else t for t in times)
        result["readable_all"] = float(not any(math.isnan(t) for t in times))
        if not quick:
            await moving_and_idle(result, host, painter, seen, move_seconds)
        stats = await loop.run_in_executor(None, lambda: host.ask(do="stats"))
        kf = stats.pop("keyframe_times")
        result["keyframes"] = len(kf)
        result["keyframes_per_s"] = len(kf) / (time.monotonic() - started)
        # The most keyframes that left within any one second.
        result["keyframes_max_1s"] = max((sum(1 for u in kf if t <= u < t + 1.0) for t in kf), default=0)
        result["keyframe_requests"] = stats["pli"]
        print("  host:", json.dumps(stats), file=sys.stderr)
    finally:
        await viewer.stop()
        await pc.close()
        host.close()
        painter.close()
    return result


def receiver_state(pc: Any) -> str:
    """What the viewer's aiortc receiver holds (for a screen that never became readable)."""
    receiver = pc.getTransceivers()[0].receiver
    buffer = receiver._RTCRtpReceiver__jitter_buffer
    nacks = receiver._RTCRtpReceiver__nack_generator
    held = [p.sequence_number for p in buffer._packets if p is not None]
    return (f"jitter buffer origin={buffer._origin} holds {len(held)} packets "
            f"({min(held, default=None)}..{max(held, default=None)}); NACK max_seq={nacks.max_seq} "
            f"missing={sorted(nacks.missing)[:20]}")


async def moving_and_idle(result: dict[str, float], host: Child, painter: Child, seen: dict[int, float],
                          move_seconds: float) -> None:
    """Moving region: fps and glass-to-glass latency; then the host's CPU on an idle screen."""
    loop = asyncio.get_running_loop()
    seen.clear()
    xvfb_pid = int(os.environ.get("BENCH_XVFB_PID", "0"))
    cpu_before = {"host": host.cpu_seconds(), "painter": painter.cpu_seconds(), "viewer": own_cpu(),
                  "xvfb": process_cpu(xvfb_pid)}
    move_start = time.monotonic()
    stamps_reply = await loop.run_in_executor(None, lambda: painter.ask(do="move", seconds=move_seconds, start=1))
    elapsed = time.monotonic() - move_start
    cpu_after = {"host": host.cpu_seconds(), "painter": painter.cpu_seconds(), "viewer": own_cpu(),
                 "xvfb": process_cpu(xvfb_pid)}
    for name in cpu_before:
        result[f"move_cpu_{name}_pct"] = 100 * (cpu_after[name] - cpu_before[name]) / elapsed
    await asyncio.sleep(0.5)
    stamps = dict((c, t) for c, t in stamps_reply["stamps"])
    first = min(stamps.values())
    window = [(c, t) for c, t in seen.items() if c in stamps and stamps[c] >= first + 1.0]
    latencies = [t - stamps[c] for c, t in window]
    span = max(stamps.values()) - (first + 1.0)
    result["fps"] = len(window) / span if span > 0 else 0.0
    result["latency_ms"] = statistics.median(latencies) * 1000 if latencies else float("nan")
    result["latency_p90_ms"] = float(np.percentile(latencies, 90)) * 1000 if latencies else float("nan")
    result["painted_fps"] = sum(1 for t in stamps.values() if t >= first + 1.0) / span if span > 0 else 0.0

    # Idle: host CPU while nothing changes.
    await asyncio.sleep(3.0)
    cpu0, t0 = host.cpu_seconds(), time.monotonic()
    await asyncio.sleep(5.0)
    result["idle_cpu_pct"] = 100 * (host.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    result["rss_mb"], result["peak_rss_mb"] = host.memory()


# ---------------------------------------------------------------- links and the summary

@dataclass(frozen=True)
class Link:
    rate_kbit: int | None = None  # None: no shaping at all (loopback, as before this benchmark had links)
    queue_ms: int = 100
    loss: float = 0.0
    delay_ms: int = 0  # each way
    deadline: float = 20.0  # s to wait for readable text
    targets: tuple[tuple[str, str], ...] = ()


LINKS = {
    # Figures measured before rate control, on this machine: must not get worse.
    "unlimited": Link(targets=(("text_psnr_1s_db", ">= 42.7 (before)"), ("fps", ">= 31 (before)"),
                               ("latency_ms", "<= 61 (before)"), ("idle_cpu_pct", "<= 2.4 (before)"),
                               ("rss_mb", "<= 200"))),
    "2mbit": Link(2000, targets=(("readable_s", "<= 3"), ("fps", ">= 10"))),
    "500kbit": Link(500, deadline=30.0, targets=(("readable_s", "<= 10"),)),
    "2mbit-2%loss": Link(2000, loss=0.02, targets=(("readable_s", "<= 4"), ("keyframes_max_1s", "<= 1"),
                                                    ("keyframes_per_s", "<= 1"))),
    "2mbit-100ms-rtt": Link(2000, delay_ms=50, targets=(("latency_p90_ms", "<= 300"),)),
}


def run_role(args: argparse.Namespace) -> None:
    """One run, in the viewer's namespace; prints its figures as one JSON line."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(one_run(env, args.move_seconds, Path(tmp), json.loads(args.host_prefix),
                                     args.deadline, args.quick))
    print(json.dumps(result), flush=True)


def bench_link(name: str, link: Link, runs: int, move_seconds: float, env: dict[str, str]) -> list[dict[str, float]]:
    from tests.netns import lan
    from tests.netshape import shaped

    def one(viewer_prefix: list[str], host_prefix: list[str]) -> dict[str, float]:
        proc = subprocess.run([*viewer_prefix, sys.executable, __file__, "--role", "run", "--move-seconds",
                               str(move_seconds), "--deadline", str(link.deadline), "--host-prefix",
                               json.dumps(host_prefix)], env=env, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"run on {name} failed ({proc.returncode})")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    results = []
    if link.rate_kbit is None:
        print(f"{name}: loopback, no shaping", file=sys.stderr)
        for i in range(runs):
            results.append(one([], []))
            print(f"  run {i + 1}: " + fmt(results[-1]), file=sys.stderr)
        return results
    with lan() as net, shaped(net, link.rate_kbit, link.queue_ms, link.loss, link.delay_ms) as shaping:
        print(f"{name}: host in a namespace sending through: {'; '.join(shaping.method)}", file=sys.stderr)
        for i in range(runs):
            results.append(one(net.prefix(net.b), net.prefix(net.a)))
            print(f"  run {i + 1}: " + fmt(results[-1]), file=sys.stderr)
    return results


def fmt(result: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.1f}" for k, v in result.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", default="main")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--move-seconds", type=float, default=6.0)
    parser.add_argument("--links", default=",".join(LINKS), help="comma-separated, of: " + ", ".join(LINKS).replace("%", "%%"))
    parser.add_argument("--deadline", type=float, default=20.0)
    parser.add_argument("--host-prefix", default="[]")
    parser.add_argument("--quick", action="store_true", help="(run role) one text screen, no motion")
    args = parser.parse_args()
    if args.role == "painter":
        painter_main()
        return
    if args.role == "host":
        asyncio.run(host_async())
        return
    if args.role == "run":
        run_role(args)
        return

    from tests.netns import unavailable_reason
    from tests.xvfb import xvfb

    names = [n.strip() for n in args.links.split(",") if n.strip()]
    unknown = [n for n in names if n not in LINKS]
    if unknown:
        parser.error(f"unknown link {unknown[0]!r}; known: {', '.join(LINKS)}")
    if any(LINKS[n].rate_kbit is not None for n in names) and (reason := unavailable_reason()):
        parser.error(f"shaped links need network namespaces: {reason}")
    summary: list[str] = []
    with xvfb(1920, 1080) as display:
        env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(ROOT), BENCH_XVFB_PID=str(xvfb_pid(display)))
        for name in names:
            load_before = os.getloadavg()[0]
            runs = bench_link(name, LINKS[name], args.runs, args.move_seconds, env)
            load_after = os.getloadavg()[0]
            summary.append(f"{name} ({args.runs} runs, load average {load_before:.1f} -> {load_after:.1f}):")
            targets = dict(LINKS[name].targets)
            for key in runs[0]:
                value = statistics.median(r[key] for r in runs)
                summary.append(f"  {key:18s} {value:8.2f}   {targets.get(key, '')}")
    print(f"bench_video: 1920x1080 Xvfb, {os.cpu_count()} cores, medians; readable = >= {READABLE_DB} dB PSNR "
          "against the painted screen")
    print("\n".join(summary))


def xvfb_pid(display: str) -> int:
    """The pid of the Xvfb this process started for `display` (for its CPU figures)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"Xvfb") and int(fields[1]) == os.getpid():
            return int(entry.name)
    return 0


if __name__ == "__main__":
    main()
