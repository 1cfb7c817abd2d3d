"""Screen-sharing benchmark under Xvfb at 1920x1080: text quality, frame rate, latency, idle CPU, RSS.

Three processes per run, like the real thing: a painter (an "application" drawing on the X
screen), the host (ScreenTrack: capture, encode, aiortc sender) and the viewer (this process:
aiortc receiver and decoder). They share CLOCK_MONOTONIC, so glass-to-glass latency is measured
from the moment the painter's drawing is complete on the X server to the moment the viewer holds
the decoded frame showing it. The painter stamps a 16-bit frame counter as black/white blocks
(and its complement, to reject half-decoded values) into the moving region; the viewer reads the
blocks back from the decoded luma plane.

Figures (medians over runs):
- text PSNR: a full screen of small coloured terminal text is painted; 1 s later the viewer's
  newest decoded frame is compared (RGB PSNR) with an mss grab of the screen.
- fps / latency: a 960x540 region scrolls text and changes its counter ~60 times a second for
  several seconds; fps = distinct counters decoded per second at the viewer.
- idle CPU: host process CPU time over 5 s of an unchanging screen, in % of one core.
- RSS: host resident set size at the end (and its peak).

Usage: python3 scripts/bench_video.py [--runs 3] [--move-seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

REGION = (480, 270, 960, 540)  # x, y, w, h of the moving region
BLOCK = 16  # counter block size in pixels
BITS = 16


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
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from rassist.media.capture import pick_monitor
    from rassist.media.screen_track import ScreenTrack, attach_sender

    loop = asyncio.get_running_loop()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = ScreenTrack(pick_monitor())
    controller = track.controller
    transceiver = pc.addTransceiver(track, direction="sendonly")
    feedback = attach_sender(track, transceiver)
    if os.environ.get("BENCH_LOG"):
        log = open(os.environ["BENCH_LOG"], "a", buffering=1)
        track.log = lambda line: log.write(f"{line} target={controller.target} remb={feedback.last_remb}\n")
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        if cmd["do"] == "offer":
            await pc.setRemoteDescription(RTCSessionDescription(cmd["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            print(json.dumps({"sdp": pc.localDescription.sdp}), flush=True)
        elif cmd["do"] == "stats":
            print(json.dumps({"frames": track.frames_sent, "bytes": track.bytes_sent,
                              "keyframes": track.encoder.keyframes, "pli": feedback.keyframe_requests,
                              "target": controller.target, "remb": feedback.last_remb,
                              "capture": track.capturer.mode, "grabs": track.capturer.grabs,
                              "encode_s": round(track.encode_seconds, 3),
                              "convert_s": round(track.convert_seconds, 3)}), flush=True)
        elif cmd["do"] == "quit":
            break
    await pc.close()


# ---------------------------------------------------------------- viewer / orchestration

class Child:
    def __init__(self, role: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--role", role], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.read()

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("child process ended")
        return json.loads(line)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory(self) -> tuple[float, float]:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024

    def close(self) -> None:
        try:
            self.send(do="quit")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def own_cpu() -> float:
    usage = os.times()
    return usage.user + usage.system


def xvfb_cpu() -> float:
    """CPU seconds of the Xvfb server this process started."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        if cmdline and cmdline[0].endswith(b"Xvfb") and int(fields[1]) == os.getpid():
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


async def one_run(env: dict[str, str], move_seconds: float, tmp: Path) -> dict[str, float]:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from rassist.media.codec import prefer_h264
    from rassist.media.viewer import ScreenViewer

    loop = asyncio.get_running_loop()
    painter = Child("painter", env)
    host = Child("host", env)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    seen: dict[int, float] = {}

    def on_frame(frame: Any) -> None:
        value = read_counter(frame)
        if value is not None and value not in seen:
            seen[value] = time.monotonic()

    viewer = ScreenViewer(on_frame=on_frame)
    prefer_h264(pc.addTransceiver("video", direction="recvonly"))
    pc.on("track", viewer.attach)
    result: dict[str, float] = {}
    try:
        await loop.run_in_executor(None, lambda: painter.ask(do="text", seed=100, path=str(tmp / "warm.npy")))
        await pc.setLocalDescription(await pc.createOffer())
        answer = await loop.run_in_executor(None, lambda: host.ask(do="offer", sdp=pc.localDescription.sdp))
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await viewer.next_frame(after=0, timeout=30)
        await asyncio.sleep(2.0)

        # Static text: PSNR of what the viewer holds 1 s after the change.
        scores = []
        for seed in (1, 2, 3):
            path = tmp / f"text{seed}.npy"
            reply = await loop.run_in_executor(None, lambda: painter.ask(do="text", seed=seed, path=str(path)))
            await asyncio.sleep(max(0.0, reply["painted"] + 1.0 - time.monotonic()))
            frame = viewer.latest
            assert frame is not None
            got = frame.to_ndarray(format="rgb24")
            scores.append(psnr(got, np.load(path)))
            await asyncio.sleep(1.5)
        result["text_psnr_db"] = statistics.median(scores)

        # Moving region: fps and glass-to-glass latency.
        seen.clear()
        cpu_before = {"host": host.cpu_seconds(), "painter": painter.cpu_seconds(), "viewer": own_cpu(),
                      "xvfb": xvfb_cpu()}
        move_start = time.monotonic()
        stamps_reply = await loop.run_in_executor(None, lambda: painter.ask(do="move", seconds=move_seconds, start=1))
        elapsed = time.monotonic() - move_start
        cpu_after = {"host": host.cpu_seconds(), "painter": painter.cpu_seconds(), "viewer": own_cpu(),
                     "xvfb": xvfb_cpu()}
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
        stats = await loop.run_in_executor(None, lambda: host.ask(do="stats"))
        print("  host:", json.dumps(stats), file=sys.stderr)
    finally:
        await viewer.stop()
        await pc.close()
        host.close()
        painter.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", default="main")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--move-seconds", type=float, default=6.0)
    args = parser.parse_args()
    if args.role == "painter":
        painter_main()
        return
    if args.role == "host":
        asyncio.run(host_async())
        return

    from tests.xvfb import xvfb

    runs: list[dict[str, float]] = []
    with xvfb(1920, 1080) as display, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(ROOT))
        os.environ["DISPLAY"] = display
        for i in range(args.runs):
            result = asyncio.run(one_run(env, args.move_seconds, Path(tmp)))
            print(f"run {i + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in result.items()), file=sys.stderr)
            runs.append(result)
    print(f"bench_video: 1920x1080 Xvfb, {args.runs} runs, {os.cpu_count()} cores, medians:")
    targets = {"text_psnr_db": ">= 38", "fps": ">= 30", "latency_ms": "<= 100", "idle_cpu_pct": "<= 3",
               "rss_mb": "<= 200"}
    for key in runs[0]:
        value = statistics.median(r[key] for r in runs)
        print(f"  {key:16s} {value:8.1f}   {targets.get(key, '')}")


if __name__ == "__main__":
    main()
