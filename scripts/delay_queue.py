#!/usr/bin/env python3
"""Hold every packet of an NFQUEUE for a fixed delay, then let it through (this kernel has no
netem). Run inside a network namespace whose iptables sends packets to queue N:

    ip netns exec NS python scripts/delay_queue.py N DELAY_MS

Needs the netfilterqueue package (in the benchmark venv; see scripts/bench_connect.py).
Packets keep their order; one thread, no verdict from another thread."""

from __future__ import annotations

import collections
import select
import sys
import time

from netfilterqueue import NetfilterQueue


def main() -> None:
    queue_num, delay = int(sys.argv[1]), float(sys.argv[2]) / 1000
    held: collections.deque = collections.deque()  # (due, packet), in arrival order

    def hold(packet) -> None:  # noqa: ANN001 - netfilterqueue's Packet
        packet.retain()
        held.append((time.monotonic() + delay, packet))

    nfq = NetfilterQueue()
    nfq.bind(queue_num, hold)
    fd = nfq.get_fd()
    print("ready", flush=True)
    try:
        while True:
            wait = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
            readable, _, _ = select.select([fd], [], [], wait)
            if readable:
                nfq.run(block=False)
            now = time.monotonic()
            while held and held[0][0] <= now:
                held.popleft()[1].accept()
    except KeyboardInterrupt:
        pass
    finally:
        nfq.unbind()


if __name__ == "__main__":
    main()
