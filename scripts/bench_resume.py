#!/usr/bin/env python3
"""How long a resume takes once both sides try: both call transport.reconnect at once, through
a real `rassist server` on loopback, until the new peer connection's control channel is open
(meet at the mailbox, sealed offer and answer, ICE, DTLS, SCTP). Also: the same when the
joiner starts 2 s after the host (the host waits at the mailbox), timed from the joiner's start.

Prints medians over --runs with the target beside each figure, and the machine load (other
work skews the figures: re-run on a quiet machine)."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from rassist.crypto.resume import resume_secret  # noqa: E402
from rassist.protocol.resume import ResumeState  # noqa: E402
from rassist.transport.reconnect import reconnect  # noqa: E402
from tests.procs import rendezvous_server  # noqa: E402

TARGET_MS = 1000  # "connects in well under a second": a resume should not be slower than a join


async def once(url: str, join_delay: float) -> float:
    secret = resume_secret(os.urandom(32))
    host = asyncio.ensure_future(reconnect(ResumeState(secret, "host"), [url], lambda p: None, window=60))
    await asyncio.sleep(join_delay)
    started = time.perf_counter()
    join = await reconnect(ResumeState(secret, "join"), [url], lambda p: None, window=60)
    elapsed = time.perf_counter() - started
    await join.peer.close()
    await (await host).peer.close()
    return elapsed


async def main(runs: int) -> None:
    with rendezvous_server() as url:
        await once(url, 0)  # warm-up: imports, first connections
        for label, delay in (("both at once", 0.0), ("host waiting first", 2.0)):
            figures = [await once(url, delay) for _ in range(runs)]
            print(f"resume, {label}: median {statistics.median(figures) * 1000:.0f} ms "
                  f"(min {min(figures) * 1000:.0f}, max {max(figures) * 1000:.0f}; target < {TARGET_MS} ms)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    asyncio.run(main(parser.parse_args().runs))
