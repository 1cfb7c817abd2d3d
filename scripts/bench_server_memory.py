#!/usr/bin/env python3
"""Memory of `rassist server` under stalled pairs: the attack of issue 10.

Opens --pairs pairs from 127.0.0.1. In each, the host stops reading its socket and the joiner
relays 40 KiB bodies to it as fast as the server's rate limit lets it (one every 60 ms, under
20/s) for --seconds. Prints the server's RSS before, its peak during the attack (sampled from
/proc), how many stalled readers the server dropped, and the target beside it."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rassist.protocol import rendezvous as wire  # noqa: E402

TARGET_MB = 60.0
BODY = os.urandom(40 * 1024)  # 54 KiB of base64: under the 64 KiB frame limit


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def stalled_pair(url: str, seconds: float, sent: list[int]) -> bool:
    """One pair whose host never reads; True if the server dropped the host."""
    host = await connect(url, max_size=None)
    await host.send(wire.encode("allocate"))
    nameplate = wire.decode(await host.recv())["nameplate"]
    joiner = await connect(url, max_size=None)
    await joiner.send(wire.encode("claim", nameplate=nameplate))
    await joiner.recv()
    await host.recv()  # joined
    # Stall: no more reads on the host's socket, and a small receive window so the kernel
    # holds little; what piles up beyond it is the server's to bound.
    sock: socket.socket = host.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host.transport.pause_reading()
    body = wire.encode("send", body=wire.pack_body(BODY))
    deadline = time.monotonic() + seconds
    dropped = False
    try:
        while time.monotonic() < deadline:
            await joiner.send(body)
            sent[0] += len(body)
            await asyncio.sleep(0.06)
            if await _told_peer_gone(joiner):
                dropped = True
                break
    except ConnectionClosed:
        pass
    finally:
        if not host.transport.is_closing():
            host.transport.abort()
        await joiner.close()
    return dropped


async def _told_peer_gone(joiner: ClientConnection) -> bool:
    try:
        frame = await asyncio.wait_for(joiner.recv(), 0.001)
    except TimeoutError:
        return False
    return wire.decode(frame).get("op") == "peer-gone"


async def attack(url: str, pid: int, pairs: int, seconds: float) -> tuple[float, int, int]:
    sent = [0]
    peak = 0.0
    tasks = [asyncio.ensure_future(stalled_pair(url, seconds, sent)) for _ in range(pairs)]
    while not all(t.done() for t in tasks):
        peak = max(peak, rss_mb(pid))
        await asyncio.sleep(0.1)
    return peak, sum(t.result() for t in tasks), sent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "rassist", "server", "--host", "127.0.0.1", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        time.sleep(0.5)
        before = rss_mb(server.pid)
        peak, dropped, sent = asyncio.run(attack(url, server.pid, args.pairs, args.seconds))
        after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(5)
    load = os.getloadavg()[0]
    print(f"{args.pairs} stalled pairs from one address, {args.seconds:g} s, {sent / 1e6:.0f} MB sent "
          f"(load average {load:.1f})")
    print(f"server RSS: {before:.1f} MB idle, peak {peak:.1f} MB (target < {TARGET_MB:.0f} MB), "
          f"{after:.1f} MB after")
    print(f"stalled readers dropped by the server: {dropped} of {args.pairs}")


if __name__ == "__main__":
    main()
