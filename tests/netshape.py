"""Shape the link between two test namespaces (tests/netns.py): rate, loss and delay.

What this kernel has decides how: `tc netem` where sch_netem exists; otherwise tbf for the rate
(its `latency` is the router queue: packets beyond it are dropped), iptables `statistic` for
random loss and an NFQUEUE delayer in user space (the `netfilterqueue` package; run this file as
a script inside the namespace) for delay. `Shaping.method` says which was used.
"""

from __future__ import annotations

import heapq
import os
import subprocess
from pathlib import Path
import sys
import time
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.netns import Lan


@dataclass
class Shaping:
    method: list[str] = field(default_factory=list)  # what was used, for the benchmark's output
    delayers: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _run(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *args], check=True, capture_output=True, text=True)


def has_netem(net: Lan) -> bool:
    try:
        _run(net.a, "tc", "qdisc", "add", "dev", net.a_dev, "root", "netem", "delay", "1ms")
    except subprocess.CalledProcessError:
        return False
    _run(net.a, "tc", "qdisc", "del", "dev", net.a_dev, "root")
    return True


def netfilterqueue_reason() -> str | None:
    """Why the NFQUEUE delayer cannot run here, or None if it can."""
    try:
        import netfilterqueue  # noqa: F401
    except ImportError:
        return ("no netfilterqueue module (apt-get install libnetfilter-queue-dev; "
                "pip install NetfilterQueue)")
    return None


@contextmanager
def shaped(net: Lan, rate_kbit: int | None = None, queue_ms: int = 100, loss: float = 0.0,
           delay_ms: int = 0) -> Iterator[Shaping]:
    """Shape what a sends to b (`rate_kbit` with a `queue_ms` router queue); `loss` and
    `delay_ms` apply each way (so the round trip grows by 2 * delay_ms)."""
    out = Shaping()
    netem = (loss or delay_ms) and has_netem(net)
    try:
        if netem:
            for ns, dev in ((net.a, net.a_dev), (net.b, net.b_dev)):
                args = ["delay", f"{delay_ms}ms"] if delay_ms else []
                args += ["loss", f"{loss * 100:g}%"] if loss else []
                if rate_kbit and ns == net.a:
                    args += ["rate", f"{rate_kbit}kbit", "limit", str(max(4, rate_kbit * queue_ms // 8 // 1200))]
                _run(ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", *args)
            out.method.append(f"tc netem (delay {delay_ms} ms, loss {loss:.0%}, rate {rate_kbit} kbit/s each way)")
            yield out
            return
        if rate_kbit:
            burst = max(4000, rate_kbit * 1000 // 8 // 100)  # 10 ms worth
            _run(net.a, "tc", "qdisc", "add", "dev", net.a_dev, "root", "tbf", "rate", f"{rate_kbit}kbit",
                 "burst", str(burst), "latency", f"{queue_ms}ms")
            out.method.append(f"tbf {rate_kbit} kbit/s, {queue_ms} ms queue")
        if loss:
            for ns, dev in ((net.a, net.a_dev), (net.b, net.b_dev)):
                _run(ns, "iptables", "-A", "OUTPUT", "-o", dev, "-p", "udp", "-m", "statistic", "--mode", "random",
                     "--probability", f"{loss:g}", "-j", "DROP")
            out.method.append(f"iptables statistic {loss:.0%} loss each way")
        if delay_ms:
            if reason := netfilterqueue_reason():
                raise RuntimeError(f"cannot add delay: no sch_netem and {reason}")
            queue = 1000 + os.getpid() % 30000
            # Both directions through one delayer in a's namespace: what a sends and receives.
            for chain, flag in (("OUTPUT", "-o"), ("INPUT", "-i")):
                _run(net.a, "iptables", "-A", chain, flag, net.a_dev, "-p", "udp", "-j", "NFQUEUE",
                     "--queue-num", str(queue))
            # Run as a script, it imports tests.netns: the repository's root must be on its path
            # (a benchmark in scripts/ does not put it there).
            root = str(Path(__file__).resolve().parent.parent)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
            proc = subprocess.Popen(["ip", "netns", "exec", net.a, sys.executable, __file__, str(queue),
                                     str(delay_ms)], stdout=subprocess.PIPE, env=env)
            out.delayers.append(proc)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError("the NFQUEUE delayer did not start")
            out.method.append(f"NFQUEUE delayer {delay_ms} ms each way")
        yield out
    finally:
        for proc in out.delayers:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def delayer_main(queue: int, delay_ms: int) -> None:
    """Hold every queued packet for `delay_ms`, then let it through, in order."""
    import select
    import socket

    from netfilterqueue import NetfilterQueue

    held: list[tuple[float, int, object]] = []
    counter = 0

    def on_packet(packet: object) -> None:
        nonlocal counter
        counter += 1
        heapq.heappush(held, (time.monotonic() + delay_ms / 1000, counter, packet))

    nfq = NetfilterQueue()
    nfq.bind(queue, on_packet, max_len=4096)
    sock = socket.fromfd(nfq.get_fd(), socket.AF_UNIX, socket.SOCK_STREAM)
    print("ready", flush=True)
    try:
        while True:
            timeout = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
            readable, _, _ = select.select([sock], [], [], timeout)
            if readable:
                nfq.run(block=False)
            now = time.monotonic()
            while held and held[0][0] <= now:
                heapq.heappop(held)[2].accept()  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        pass
    finally:
        nfq.unbind()


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    delayer_main(int(sys.argv[1]), int(sys.argv[2]))
