#!/usr/bin/env python3
"""Shared terminal (`rassist host --shell`) over loopback, real processes:

1. keystroke to echo: the joiner's {"term-input": "k"} to the joiner's term-output event with the
   echo (host pty's line discipline echoes it), median and p95 (target: median <= 15 ms);
2. throughput of `head -c SIZE` through the host's shell while a joiner watches (the shell's own
   clock, written into the session), the peak RSS of the host and the joiner during it
   (target: bounded, i.e. far less than SIZE above their resting size), and how long a line
   from the joiner takes to reach the host meanwhile (the keyboard must not freeze).

    python3 scripts/bench_terminal.py [--keys 200] [--size 100000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[1]))

from tests.procs import Proc, rendezvous_server  # noqa: E402


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Peak(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.05)


def keystrokes(server: str, count: int, tmp: Path) -> list[float]:
    host = Proc(["host", "--shell", "--json", "--allow", "control", "--server", server,
                 "--cast", str(tmp / "keys.cast"), "--", "cat"])
    code = host.wait_event("code")["code"]
    joiner = Proc(["join", code, "--json", "--control", "--server", server])
    joiner.wait_event("control", state="granted")
    samples = []
    for i in range(count):
        key = "abcdefghijklmnopqrstuvwxyz"[i % 26]
        start = time.perf_counter()
        joiner.send({"term-input": key})
        while key not in joiner.wait_event("term-output")["data"]:
            pass
        samples.append((time.perf_counter() - start) * 1000)
        time.sleep(0.02)
    joiner.send({"term-input": "\n\x04"})
    host.wait_exit()
    joiner.wait_exit()
    return samples


def flood(server: str, size: int, tmp: Path) -> dict[str, float]:
    go = tmp / "go"
    script = (f"while [ ! -e {go} ]; do sleep 0.05; done; s=$(date +%s.%N); "
              f"head -c {size} /dev/zero | tr '\\0' x | fold -w 100; e=$(date +%s.%N); echo; echo ELAPSED $s $e")
    cast = tmp / "flood.cast"
    host = Proc(["host", "--shell", "--json", "--yes", "--server", server, "--cast", str(cast), "--", "sh", "-c", script])
    code = host.wait_event("code")["code"]
    joiner = Proc(["join", code, "--no-tui", "--server", server])  # plain, not a terminal: no JSON to read
    host.wait_event("connected")
    time.sleep(1)
    rest = {"host": rss_mb(host.proc.pid), "joiner": rss_mb(joiner.proc.pid)}
    peaks = {"host": Peak(host.proc.pid), "joiner": Peak(joiner.proc.pid)}
    for peak in peaks.values():
        peak.start()
    go.touch()
    # While the flood runs: a chat line from the joiner to the host's event, through both busy
    # event loops (the host's keys and the helper's keys take the same path).
    probes: list[float] = []
    while not any(e.get("event") == "shell-exit" for e in host.events):
        start = time.perf_counter()
        joiner.send(f"probe {len(probes)}")
        try:
            host.wait_event("chat", timeout=120)
        except AssertionError:  # the shell ended and the session with it, before this line arrived
            break
        probes.append((time.perf_counter() - start) * 1000)
        time.sleep(0.2)
    for peak in peaks.values():
        peak.running = False
    host.wait_exit(60)
    joiner.wait_exit(60)
    tail = cast.read_bytes()[-4000:].decode("utf-8", "replace")
    line = next(part for part in tail.split("ELAPSED ")[1:])
    start, end = (float(x) for x in line.split("\\")[0].split()[:2])
    return {"seconds": end - start, "host_rest": rest["host"], "host_peak": peaks["host"].peak,
            "joiner_rest": rest["joiner"], "joiner_peak": peaks["joiner"].peak,
            "cast_mb": cast.stat().st_size / 1e6, "probe_ms": statistics.median(probes),
            "probe_max_ms": max(probes), "probes": len(probes), "probe_all": [round(p) for p in probes]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--size", type=int, default=100_000_000)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with rendezvous_server() as server, tempfile.TemporaryDirectory() as tmp:
        samples = keystrokes(server, args.keys, Path(tmp))
        ordered = sorted(samples)
        print(f"keystroke to echo on the joiner: median {statistics.median(samples):.1f} ms "
              f"(target <= 15 ms), p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f} ms, n={len(samples)}")
        result = flood(server, args.size, Path(tmp))
        mb = args.size / 1e6
        print(f"`head -c {mb:.0f}MB` through the shared shell: {result['seconds']:.1f} s, "
              f"{mb / result['seconds']:.1f} MB/s (cast file {result['cast_mb']:.0f} MB)")
        print(f"joiner -> host message during the flood: median {result['probe_ms']:.0f} ms, "
              f"max {result['probe_max_ms']:.0f} ms, n={result['probes']} (target: the keyboard never freezes)")
        for side in ("host", "joiner"):
            print(f"RSS {side}: {result[side + '_rest']:.0f} MB at rest, peak {result[side + '_peak']:.0f} MB "
                  f"during the flood (target: bounded, growth << {mb:.0f} MB)")
    print(json.dumps({"keys_median_ms": statistics.median(samples), **result}))


if __name__ == "__main__":
    main()
