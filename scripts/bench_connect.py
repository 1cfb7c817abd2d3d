#!/usr/bin/env python3
"""Time from starting `rassist join` to `connected`, and to the first chat delivered to the host.

Real processes on loopback with a local rendezvous server; prints median and p90 over --runs,
and the bare start-up time of the `rassist` command (`rassist --help`) separately."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.procs import Proc, rendezvous_server  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def one_run(url: str) -> tuple[float, float]:
    host = Proc(["host", "--server", url, "--json", "--yes", "--once"])
    code = host.wait_event("code")["code"]
    host.wait_event("waiting")
    start = time.perf_counter()
    join = Proc(["join", code, "--server", url, "--json"])
    join.send({"chat": "ping"})
    join.wait_event("connected")
    connected = time.perf_counter() - start
    host.wait_event("chat")
    chatted = time.perf_counter() - start
    join.send({"quit": True})
    join.wait_exit()
    host.wait_exit()
    return connected, chatted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    startup = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rassist", "--help"], capture_output=True, check=True)
        startup.append(time.perf_counter() - t)
    with rendezvous_server() as url:
        one_run(url)  # warm the page cache
        results = [one_run(url) for _ in range(args.runs)]
    connect = [r[0] * 1000 for r in results]
    chat = [r[1] * 1000 for r in results]
    print(f"runs: {args.runs}")
    print(f"process start-up (rassist --help): median {statistics.median(startup) * 1000:.0f} ms")
    print(f"join start -> connected:  median {statistics.median(connect):.0f} ms, p90 {pct(connect, 0.9):.0f} ms")
    print(f"join start -> first chat at host: median {statistics.median(chat):.0f} ms, p90 {pct(chat, 0.9):.0f} ms")


if __name__ == "__main__":
    main()
