"""Several viewers of one host screen (issue 13): host CPU and RSS with 1, 2 and 4 viewers of a
1920x1080 Xvfb screen with motion, and each viewer's frame rate.

Processes, like the real thing: a painter (an application scrolling text in a 960x540 region
--hz times a second, 30 by default, and stamping a 16-bit frame counter into it), the host (one ScreenSource and
one HostScreen per viewer, each on its own aiortc peer connection: capture and encode once, fan
out) and one process per viewer (aiortc receiver and decoder, which reads the counter back from
each decoded frame). All on loopback, no shaping. Signalling is SDP over the children's pipes.

Figures per viewer count (medians over runs): host CPU in % of one core over the measuring
window, host RSS at its end, the frame rate of each viewer (distinct counters decoded per
second; the slowest viewer's and the median viewer's), and the host's CPU time per encoded frame
(on a saturated machine fewer frames are made, so CPU alone can understate the cost of a viewer). Targets: CPU with 4 viewers <= 1.3x CPU
with 1 (an encoder per viewer would be ~4x), every viewer >= 25 fps, RSS growth <= 15 MB per
added viewer. The load average is printed: the machine may be shared.

Usage: python3 scripts/bench_viewers.py [--viewers 1,2,4] [--runs 3] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from jsonchild import JsonChild, answer_offer, commands  # noqa: E402  (scripts/ is on the path: the script's own folder)

REGION = (480, 270, 960, 540)  # x, y, w, h of the moving region
BLOCK, BITS = 16, 16  # the counter: BITS blocks of BLOCK pixels, and their complement below
WARMUP = 4.0  # s of motion before measuring: the link estimators ramp up from 1.5 Mbit/s


# ---------------------------------------------------------------- painter (child process)

def painter_main() -> None:
    from tests.media.conftest import Painter, text_screen

    painter = Painter(os.environ["DISPLAY"])
    painter.put(text_screen(seed=1))
    tall = np.concatenate([text_screen(REGION[2], REGION[3], seed=s) for s in range(4)])
    x, y, w, h = REGION
    counter, offset = 0, 0
    print(json.dumps({"ready": True}), flush=True)
    while True:  # until the parent kills it
        began = time.monotonic()
        region = np.ascontiguousarray(tall[offset:offset + h]).copy()
        for i in range(BITS):
            bit = (counter >> i) & 1
            region[0:BLOCK, i * BLOCK:(i + 1) * BLOCK] = 255 if bit else 0
            region[BLOCK:2 * BLOCK, i * BLOCK:(i + 1) * BLOCK] = 0 if bit else 255
        painter.put(region, x, y)
        counter = (counter + 1) % (1 << BITS)
        offset = (offset + 3) % (tall.shape[0] - h)
        time.sleep(max(0.0, 1 / float(os.environ.get("BENCH_HZ", "30")) - (time.monotonic() - began)))


def read_counter(frame: Any) -> int | None:
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
    value = 0
    for i in range(BITS):
        cx = REGION[0] + i * BLOCK + BLOCK // 2
        top = luma[REGION[1] + BLOCK // 2, cx] > 128
        bottom = luma[REGION[1] + BLOCK + BLOCK // 2, cx] > 128
        if top == bottom:
            return None
        value |= int(top) << i
    return value


# ---------------------------------------------------------------- host (child process)

async def host_async(viewers: int, separate: bool) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from rassist.media.screen import HostScreen
    from rassist.media.screen_source import ScreenSource, ViewerTrack

    source = ScreenSource()
    pcs, screens = [], []

    async def add() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        # separate: what a host without the fan-out would do, a capture and an encoder per viewer
        screen = HostScreen() if separate else HostScreen(source=source)
        screen.prepare(pc, "host")
        await pc.setLocalDescription(await pc.createOffer())
        pcs.append(pc)
        screens.append(screen)
        return pc.localDescription.sdp

    print(json.dumps({"offers": [await add() for _ in range(viewers)]}), flush=True)
    if os.environ.get("BENCH_LOG"):
        logger = asyncio.ensure_future(log_rates(source, os.environ["BENCH_LOG"]))
    async for cmd in commands():
        if cmd["do"] == "answers":
            for pc, sdp in zip(pcs, cmd["sdp"]):
                await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            for screen in screens:
                assert screen.track is not None
                screen.track.release()
            print(json.dumps({"ok": True}), flush=True)
        elif cmd["do"] == "add":  # a late viewer
            print(json.dumps({"offer": await add()}), flush=True)
        elif cmd["do"] == "answer-late":
            await pcs[-1].setRemoteDescription(RTCSessionDescription(cmd["sdp"], "answer"))
            assert screens[-1].track is not None
            screens[-1].track.release()
            print(json.dumps({"released": time.monotonic()}), flush=True)
        elif cmd["do"] == "stats":
            tracks = [s.track for s in screens if isinstance(s.track, ViewerTrack)]
            if separate:  # every viewer's own encoder
                own = [s.track for s in screens if s.track is not None and not isinstance(s.track, ViewerTrack)]
                print(json.dumps({"frames": sum(t.frames_sent for t in own),
                                  "keyframes": sum(t.encoder.keyframes for t in own), "dropped": [0]}), flush=True)
                continue
            print(json.dumps({"frames": source.frames, "keyframes": source.keyframes,
                              "dropped": [t.queue.dropped for t in tracks]}), flush=True)
    await source.close()
    await asyncio.gather(*(pc.close() for pc in pcs))


async def log_rates(source: Any, path: str) -> None:
    """BENCH_LOG=file: twice a second, the shared encoder's rate and frame rate and each viewer's
    link estimate (target, round trip, loss, REMB)."""
    t0 = time.monotonic()
    with open(path, "a", buffering=1) as log:
        while True:
            await asyncio.sleep(0.5)
            track = source.track
            settings = source.estimator.settings()
            estimator = source.estimator
            motion = (track.frame_rate.fps(settings, time.monotonic(), estimator.max_fps, estimator.clean())
                      if track else 0.0)
            viewers = " ".join(f"[target={v.controller.target} rtt={v.controller.rtt} loss={v.controller.loss} "
                               f"remb={v.controller.last_remb} sent={v.frames_sent}]" for v in source.viewers)
            log.write(f"{time.monotonic() - t0:.1f} frames={source.frames} shared={source.estimator.target} "
                      f"fps={settings.fps} motion_fps={motion:.1f} {viewers}\n")


# ---------------------------------------------------------------- viewer (child process)

async def viewer_async() -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection

    from rassist.media.viewer import ScreenViewer

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    seen: list[tuple[float, int]] = []  # (arrival, counter) of each newly seen counter
    last: list[int | None] = [None]
    first = asyncio.Event()

    def on_frame(frame: Any) -> None:
        value = read_counter(frame)
        first.set()
        if value is not None and value != last[0]:
            last[0] = value
            seen.append((time.monotonic(), value))

    viewer = ScreenViewer(on_frame=on_frame)
    pc.on("track", lambda track: viewer.attach(track) if track.kind == "video" else None)
    async for cmd in commands():
        if cmd["do"] == "offer":
            print(json.dumps({"sdp": await answer_offer(pc, cmd["sdp"])}), flush=True)
        elif cmd["do"] == "fps":
            start, end = cmd["start"], cmd["end"]
            counted = sum(1 for t, _ in seen if start <= t < end)
            print(json.dumps({"fps": counted / (end - start), "frames": viewer.frames}), flush=True)
        elif cmd["do"] == "first":  # when the first picture was decoded
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(first.wait(), 30)
            print(json.dumps({"at": viewer.latest_at if first.is_set() else None}), flush=True)
    await viewer.stop()
    await pc.close()


# ---------------------------------------------------------------- orchestration

class Child(JsonChild):
    def __init__(self, env: dict[str, str], *args: str) -> None:
        super().__init__([sys.executable, __file__, *args], env)

    def rss_mb(self) -> float:
        return self.memory()[0]


def one_run(env: dict[str, str], viewers: int, seconds: float, separate: bool = False) -> dict[str, float]:
    host = Child(env, "--role", "host", "--count", str(viewers), *(["--separate"] if separate else []))
    clients: list[Child] = []
    try:
        offers = host.read()["offers"]
        clients = [Child(env, "--role", "viewer") for _ in range(viewers)]
        answers = [c.ask(do="offer", sdp=sdp)["sdp"] for c, sdp in zip(clients, offers)]
        host.ask(do="answers", sdp=answers)
        time.sleep(WARMUP)
        frames0 = host.ask(do="stats")["frames"]
        cpu0, t0 = host.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = host.cpu_seconds(), time.monotonic()
        rss = host.rss_mb()
        stats = host.ask(do="stats")
        fps = [c.ask(do="fps", start=t0, end=t1)["fps"] for c in clients]
        late = Child(env, "--role", "viewer")
        clients.append(late)
        answer = late.ask(do="offer", sdp=host.ask(do="add")["offer"])["sdp"]
        released = host.ask(do="answer-late", sdp=answer)["released"]
        first = late.ask(do="first")["at"]
        return {"host_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "host_rss_mb": rss,
                "fps_slowest": min(fps), "fps_median": statistics.median(fps),
                "cpu_ms_per_frame": 1000 * (cpu1 - cpu0) / max(1, stats["frames"] - frames0),
                "encoded": float(stats["frames"]), "keyframes": float(stats["keyframes"]),
                "dropped": float(sum(stats["dropped"])),
                "late_join_s": first - released if first is not None else float("nan")}
    finally:
        for child in [*clients, host]:
            child.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--viewers", default="1,2,4", help="viewer counts to measure (default 1,2,4)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring window per run")
    parser.add_argument("--hz", type=float, default=30.0, help="how often the painter changes the screen")
    parser.add_argument("--separate", action="store_true",
                        help="also measure an encoder per viewer (no fan-out), for comparison")
    args = parser.parse_args()
    if args.role == "painter":
        painter_main()
        return
    if args.role == "host":
        asyncio.run(host_async(args.count, args.separate))
        return
    if args.role == "viewer":
        asyncio.run(viewer_async())
        return

    from tests.xvfb import xvfb

    counts = [int(n) for n in args.viewers.split(",") if n.strip()]
    results: dict[int, dict[str, float]] = {}
    separate: dict[int, dict[str, float]] = {}
    load_before = os.getloadavg()
    with xvfb(1920, 1080) as display:
        env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(ROOT), BENCH_HZ=str(args.hz))
        painter = Child(env, "--role", "painter")
        try:
            painter.read()
            for n in counts:
                runs = [one_run(env, n, args.seconds) for _ in range(args.runs)]
                results[n] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(f"{n} viewer(s): " + ", ".join(f"{k}={v:.1f}" for k, v in results[n].items()),
                      file=sys.stderr, flush=True)
                if args.separate:
                    runs = [one_run(env, n, args.seconds, separate=True) for _ in range(args.runs)]
                    separate[n] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                    print(f"{n} viewer(s), an encoder each: "
                          + ", ".join(f"{k}={v:.1f}" for k, v in separate[n].items()), file=sys.stderr, flush=True)
        finally:
            painter.proc.kill()
            painter.proc.wait()
    load_after = os.getloadavg()
    print(f"bench_viewers: 1920x1080 Xvfb, 960x540 region scrolling at {args.hz:g} Hz, {os.cpu_count()} cores, "
          f"{args.runs} runs of {args.seconds:g} s, medians; load average {load_before[0]:.1f} -> "
          f"{load_after[0]:.1f}")
    base = results.get(1)
    for n, r in results.items():
        print(f"{n} viewer(s):")
        print(f"  host_cpu_pct   {r['host_cpu_pct']:7.1f}   "
              + (f"{r['host_cpu_pct'] / base['host_cpu_pct']:.2f}x of 1 viewer (target <= 1.3x with 4)"
                 if base and n > 1 else ""))
        growth = (r["host_rss_mb"] - base["host_rss_mb"]) / (n - 1) if base and n > 1 else None
        print(f"  host_rss_mb    {r['host_rss_mb']:7.1f}   "
              + (f"+{growth:.1f} MB per added viewer (target <= 15)" if growth is not None else ""))
        print(f"  cpu_ms/frame   {r['cpu_ms_per_frame']:7.1f}   host CPU per frame encoded (all viewers served)"
              + (f"; {r['cpu_ms_per_frame'] / base['cpu_ms_per_frame']:.2f}x of 1 viewer: the CPU ratio at equal "
                 "frame rates (target <= 1.3x with 4)" if base and n > 1 else ""))
        print(f"  fps_slowest    {r['fps_slowest']:7.1f}   (target >= 25)")
        print(f"  fps_median     {r['fps_median']:7.1f}")
        print(f"  encoded        {r['encoded']:7.0f}   frames encoded once for all "
              f"viewers; keyframes {r['keyframes']:.0f}, frames skipped by slow viewers {r['dropped']:.0f}")
        print(f"  late_join_s    {r['late_join_s']:7.2f}   one more viewer: its answer applied to its first "
              "decoded picture (connection set-up included)")
        if n in separate:
            o = separate[n]
            print(f"  (an encoder per viewer instead: host_cpu_pct {o['host_cpu_pct']:.1f}, host_rss_mb "
                  f"{o['host_rss_mb']:.1f}, fps_slowest {o['fps_slowest']:.1f}, cpu_ms/frame {o['cpu_ms_per_frame']:.1f})")


if __name__ == "__main__":
    main()
