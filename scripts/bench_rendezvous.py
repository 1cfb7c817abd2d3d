#!/usr/bin/env python3
"""Rendezvous capacity: one node alone, and two nodes sharing a redis-server.

Raw websocket clients speak the protocol (no WebRTC), asking for resume tokens as the real
client does (a cluster node keeps one per connection): a pairing is allocate -> claim ->
joined/claimed -> two bodies each way, as SPAKE2 and the sealed hello would be. Prints, per
setup: pairings per second sustained, RSS per node with WAITING hosts spread over the nodes,
and pairing latency p50/p99 while those hosts wait. Targets from the issue beside each figure.

    python scripts/bench_rendezvous.py [--waiting 10000] [--seconds 10] [--workers 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import connect  # noqa: E402

from rassist.protocol import rendezvous_resume as rr  # noqa: E402
from tests.redis_server import redis_server  # noqa: E402

PER_ADDRESS = 60  # under the server's per-address cap: clients spread over 127.0.x.y


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Addresses:
    """Local source addresses, PER_ADDRESS connections each (all of 127/8 is loopback)."""

    def __init__(self, start: int) -> None:
        self.n = start * PER_ADDRESS

    def next(self) -> str:
        self.n += 1
        index = self.n // PER_ADDRESS
        return f"127.{10 + index // 62500}.{index // 250 % 250}.{index % 250 + 1}"


async def ws(url: str, addresses: Addresses):  # type: ignore[no-untyped-def]
    return await connect(url, local_addr=(addresses.next(), 0), compression=None, max_size=64 * 1024,
                         ping_interval=None, open_timeout=30)


def key() -> str:
    """What real clients send with allocate and claim: a cluster node then keeps a resume token."""
    return rr.verifier(rr.new_secret())


def allocate() -> str:
    return json.dumps({"op": "allocate", "key": key()})


async def expect(conn, op: str) -> dict:  # type: ignore[no-untyped-def]
    while True:
        msg = json.loads(await conn.recv())
        if msg["op"] == op:
            return msg
        if msg["op"] == "error":
            raise RuntimeError(msg)


async def one_pairing(host_url: str, join_url: str, addresses: Addresses) -> float:
    started = time.perf_counter()
    host = await ws(host_url, addresses)
    joiner = await ws(join_url, addresses)
    try:
        await host.send(allocate())
        nameplate = (await expect(host, "allocated"))["nameplate"]
        await joiner.send(json.dumps({"op": "claim", "nameplate": nameplate, "key": key()}))
        await expect(joiner, "claimed")
        await expect(host, "joined")
        for _ in range(2):
            await joiner.send('{"op":"send","body":"c3Bha2UyIG1lc3NhZ2U="}')
            await expect(host, "message")
            await host.send('{"op":"send","body":"c2VhbGVkIGhlbGxv"}')
            await expect(joiner, "message")
        return time.perf_counter() - started
    finally:
        await asyncio.gather(host.close(), joiner.close())


async def sustained(urls: list[str], seconds: float, workers: int) -> tuple[float, list[float]]:
    """Pairings per second over `seconds` with `workers` pairing loops, and their latencies."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    failures = 0

    async def worker(i: int) -> None:
        nonlocal failures
        addresses = Addresses(1000 + i * 50)
        k = 0
        while time.monotonic() < deadline:
            k += 1
            try:
                latencies.append(await one_pairing(urls[(i + k) % len(urls)], urls[(i + k + 1) % len(urls)],
                                                   addresses))
            except Exception:  # noqa: BLE001 - counted and shown
                failures += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    if failures:
        print(f"  ({failures} pairings failed)")
    return len(latencies) / (time.monotonic() - started), latencies


async def hold_waiting(urls: list[str], count: int) -> list:  # type: ignore[type-arg]
    addresses = Addresses(0)
    held = []
    batch = 200
    for start in range(0, count, batch):
        async def host(i: int):  # type: ignore[no-untyped-def]
            conn = await ws(urls[i % len(urls)], addresses)
            await conn.send(allocate())
            await expect(conn, "allocated")
            return conn
        held += await asyncio.gather(*(host(i) for i in range(start, min(count, start + batch))))
    return held


def start_node(extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "rassist", "server", "--host", "127.0.0.1", "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("ws://"):
        raise RuntimeError("the server did not start")
    return proc, url


async def run(setup: str, extra: list[str], nodes: int, args: argparse.Namespace) -> None:
    procs = [start_node(extra) for _ in range(nodes)]
    urls = [url for _, url in procs]
    try:
        rate, _ = await sustained(urls, args.seconds, args.workers)
        idle = [rss_mb(p.pid) for p, _ in procs]
        held = await hold_waiting(urls, args.waiting)
        await asyncio.sleep(1.0)
        loaded = [rss_mb(p.pid) for p, _ in procs]
        _, latencies = await sustained(urls, min(args.seconds, 5.0), 8)
        lat = sorted(latencies)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        print(f"{setup}:")
        print(f"  pairings per second sustained ({args.workers} workers): {rate:.0f}")
        print(f"  RSS per node, idle: {', '.join(f'{m:.0f}' for m in idle)} MB")
        print(f"  RSS per node with {args.waiting} waiting hosts: {', '.join(f'{m:.0f}' for m in loaded)} MB"
              f"   (target <= 150 MB per node)")
        print(f"  pairing latency under that load: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(lat)} pairings)")
        await asyncio.gather(*(c.close() for c in held), return_exceptions=True)
    finally:
        for proc, _ in procs:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            proc.kill()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the nodes inherit it
    if hard < 2 * args.waiting + 1000:
        print(f"note: the open-file limit ({hard}) is low for {args.waiting} waiting hosts")
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    await run("one node, no Redis", [], 1, args)
    with redis_server() as redis:
        await run("two nodes + Redis", ["--redis", redis], 2, args)


if __name__ == "__main__":
    asyncio.run(main())
