#!/usr/bin/env python3
"""Remote-input latency: from a stdin command handled by the joiner to its effect in the host's
X server, over two real aiortc peers on loopback, injecting into Xvfb.

The effect is observed by an X client that listens on the root window (MotionNotify, KeyPress)
in its own thread, so the clock stops when the X server has processed the injected event.

    python3 scripts/bench_input.py [--moves 300] [--keys 100] [--drag 1000]

Prints medians and percentiles of: single moves, single key presses (both spaced out so the
move throttle never holds them), and the staleness of the pointer during a fast 1 kHz drag
(for every position the joiner issues, how long until the pointer shows it or a newer one;
the target is at most one 60 Hz frame, 16.7 ms), plus how long after the drag's last move the pointer gets there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WIDTH, HEIGHT = 1920, 1080


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("Xvfb") is None:
        sys.exit("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
                             "-nolisten", "tcp", "-noreset"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        return proc, ":" + pipe.readline().strip()


class RootWatcher:
    """Records when the X server reports pointer motion and key presses on the root window."""

    def __init__(self) -> None:
        import Xlib.X
        import Xlib.display

        self.X = Xlib.X
        self.display = Xlib.display.Display()
        root = self.display.screen().root
        root.change_attributes(event_mask=Xlib.X.PointerMotionMask | Xlib.X.KeyPressMask)
        self.display.sync()
        self.moves: dict[tuple[int, int], float] = {}
        self.motion_log: list[tuple[float, int, int]] = []
        self.keys: list[float] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                event = self.display.next_event()
            except Exception:  # the X server went away: the benchmark is over
                return
            now = time.perf_counter()
            with self.cond:
                if event.type == self.X.MotionNotify:
                    self.moves.setdefault((event.root_x, event.root_y), now)
                    self.motion_log.append((now, event.root_x, event.root_y))
                elif event.type == self.X.KeyPress:
                    self.keys.append(now)
                self.cond.notify_all()

    def wait_move(self, pixel: tuple[int, int], timeout: float = 5.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: pixel in self.moves, timeout):
                raise RuntimeError(f"the pointer never reached {pixel}")
            return self.moves[pixel]

    def wait_keys(self, count: int, timeout: float = 5.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.keys) >= count, timeout):
                raise RuntimeError("a key press never arrived")
            return self.keys[count - 1]


def summary(name: str, values_ms: list[float]) -> None:
    values = sorted(values_ms)
    pct = lambda p: values[min(len(values) - 1, int(p * len(values)))]  # noqa: E731
    print(f"{name:<44} n={len(values):<5} median {statistics.median(values):6.2f} ms   "
          f"p90 {pct(0.9):6.2f}   p99 {pct(0.99):6.2f}   max {values[-1]:6.2f}")


async def bench(args: argparse.Namespace) -> None:
    from rassist.media.control import HostControl
    from rassist.media.join_control import JoinControl
    from rassist.media.inject import Monitor
    from rassist.session import Session
    from rassist.transport.peer import Peer

    watcher = RootWatcher()
    host_control, join_control = HostControl(Monitor(0, 0, WIDTH, HEIGHT)), JoinControl()
    host_peer, join_peer = Peer(), Peer()
    host_control.prepare(host_peer.pc, "host")
    join_control.prepare(join_peer.pc, "join")
    answer = await join_peer.answer(await host_peer.offer())
    await host_peer.accept(answer)
    await asyncio.gather(host_peer.wait_open(10), join_peer.wait_open(10))
    quiet = lambda *a, **k: None  # noqa: E731
    host = Session("host", host_peer, "joiner", {"view", "control"}, quiet, [host_control])
    join = Session("join", join_peer, "host", {"view", "control"}, quiet, [join_control])
    await host.start()
    await join.start()
    await join_control.wait_granted()
    loop = asyncio.get_running_loop()
    monitor = Monitor(0, 0, WIDTH, HEIGHT)

    def fraction(pixel: tuple[int, int]) -> list[float]:
        return [(pixel[0] + 0.5) / WIDTH, (pixel[1] + 0.5) / HEIGHT]

    # 1. single moves, spaced wider than a frame
    latencies = []
    for i in range(args.moves):
        pixel = (100 + i % 1700, 100 + (i // 1700) * 10)
        await asyncio.sleep(0.02)
        sent = time.perf_counter()
        await join.handle_command({"move": fraction(pixel)})
        seen = await loop.run_in_executor(None, watcher.wait_move, pixel)
        latencies.append((seen - sent) * 1000)
    summary("move: command -> X server", latencies)

    # 2. key presses
    latencies = []
    for i in range(args.keys):
        await asyncio.sleep(0.02)
        sent = time.perf_counter()
        await join.handle_command({"key": "a"})
        seen = await loop.run_in_executor(None, watcher.wait_keys, i + 1)
        latencies.append((seen - sent) * 1000)
    summary("key press: command -> X server", latencies)

    # 3. a fast drag: one move per millisecond, on row 600 so every pixel is new
    issued: dict[tuple[int, int], float] = {}
    timeline: list[tuple[float, tuple[int, int]]] = []
    with watcher.cond:
        watcher.motion_log.clear()
    start = time.perf_counter()
    for i in range(args.drag):
        pixel = (50 + i % 1800, 600 + i // 1800)
        target = start + i / 1000
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        issued[pixel] = now
        timeline.append((now, pixel))
        await join.handle_command({"move": fraction(pixel)})
    last_sent = time.perf_counter()
    final = await loop.run_in_executor(None, watcher.wait_move, timeline[-1][1])
    with watcher.cond:
        log = list(watcher.motion_log)
    # Lag of each issued position: until the pointer shows it, or a newer one (coalescing may
    # rightly skip it). That is how far behind the joiner's hand the host's pointer runs.
    index = {pixel: i for i, (_, pixel) in enumerate(timeline)}
    caught: list[float | None] = [None] * len(timeline)
    reached, j = -1, 0
    for seen, x, y in log:
        reached = max(reached, index.get((x, y), -1))
        while j <= reached:
            caught[j] = seen
            j += 1
    stale = [(c - t) * 1000 for (t, _), c in zip(timeline, caught) if c is not None]
    summary("drag: issued position -> pointer there or past", stale)
    print(f"{'drag: last move -> pointer there':<44} {(final - last_sent) * 1000:6.2f} ms   "
          f"({len(log)} pointer updates for {args.drag} moves, {join_control.sent} sent)")
    print(f"monitor {monitor.width}x{monitor.height}, move throttle {join_control.throttle.interval * 1000:.1f} ms, "
          f"host refused {sum(host_control.gate.refused.values())}")
    await join.close()
    await host.close()
    for feature in (host_control, join_control):
        await feature.stop()
    await join_peer.close()
    await host_peer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--drag", type=int, default=1000)
    args = parser.parse_args()
    xvfb, display = start_xvfb()
    os.environ["DISPLAY"] = display  # before the injector connects
    try:
        asyncio.run(bench(args))
    finally:
        xvfb.terminate()
        xvfb.wait()


if __name__ == "__main__":
    main()
