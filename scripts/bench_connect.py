#!/usr/bin/env python3
"""How long a user waits: `rassist send` start -> code printed, `rassist join` start ->
`connected` (host started earlier, --yes), and the network round trips a join and a send cost.

Real processes on loopback with a local rendezvous server; prints medians over --runs with the
target beside each figure, and the machine load (other work skews the figures: re-run on a
quiet machine). The timed process runs in the layout users get (a wheel installed into a venv of
its own, as scripts/install.sh does; see scripts/bench_layout.py) and, for comparison, from the
development venv's editable install (--layout).

Round trips: the join is run again between two network namespaces, once as is and once with
every packet towards the joiner held for --delay-ms (NFQUEUE; this kernel has no netem). Each
round trip on the join's critical path then costs one more delay, so
(median delayed - median plain) / delay counts them. Needs root and the netfilterqueue package
in the benchmark venv:

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install netfilterqueue magic-wormhole==0.24.* \\
        magic-wormhole-mailbox-server magic-wormhole-transit-relay
    scripts/bench_connect.py --bench-venv /tmp/bench-venv
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import bench_layout  # noqa: E402  (beside this script)
from tests.procs import Proc, rendezvous_server  # noqa: E402

TARGET_CONNECT_MS = 300
TARGET_CODE_MS = 150


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(what: str, values_ms: Sequence[float], target: float | None = None) -> str:
    median = statistics.median(values_ms)
    text = f"{what:38s} median {median:6.0f} ms, p90 {pct(values_ms, 0.9):6.0f} ms"
    if target is not None:
        text += f"   target <= {target:.0f} ms: {'met' if median <= target else 'NOT met'}"
    return text + f"   (load {os.getloadavg()[0]:.2f})"


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) a process has used so far: less skewed by other load than
    wall time, so it is printed beside it (10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


CPU: dict[str, list[float]] = {"send": [], "join": []}
DEV = [sys.executable, "-m", "rassist"]


def send_to_code(url: str, path: Path, prefix: Sequence[str] = (), rassist: Sequence[str] = DEV,
                 env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    sender = Proc([*prefix, *rassist, "send", str(path), "--json", "--server", url], raw=True,
                  env=env)
    sender.wait_event("code")
    took = time.perf_counter() - start
    if not prefix:
        CPU["send"].append(cpu_ms(sender.proc.pid))
    sender.kill()
    return took


def join_to_connected(url: str, prefix: Sequence[str] = (), host_prefix: Sequence[str] = (),
                      rassist: Sequence[str] = DEV, env: dict[str, str] | None = None) -> float:
    host = Proc([*host_prefix, *DEV, "host", "--server", url, "--json", "--yes", "--once"],
                raw=True)
    code = host.wait_event("code")["code"]
    host.wait_event("waiting")
    time.sleep(0.3)  # the host has settled (its WebRTC is loaded): only the join is timed
    start = time.perf_counter()
    join = Proc([*prefix, *rassist, "join", code, "--server", url, "--json"], raw=True, env=env)
    join.wait_event("connected")
    took = time.perf_counter() - start
    if not prefix:
        CPU["join"].append(cpu_ms(join.proc.pid))
    join.send({"quit": True})
    join.wait_exit()
    host.wait_exit()
    return took


def round_trips(runs: int, delay_ms: float, bench_python: Path) -> str:
    from tests.netns import lan, unavailable_reason

    if runs < 1:
        return "round trips: not measured (--rtt-runs 0)"
    if reason := unavailable_reason():
        return f"round trips: not measured ({reason})"
    if not bench_python.exists():
        return f"round trips: not measured (no {bench_python}; see this script's --help)"
    queue = 1000 + os.getpid() % 30000
    with lan() as net, tempfile.TemporaryDirectory() as tmp:
        a, b = list(net.prefix(net.a)), list(net.prefix(net.b))
        payload = Path(tmp) / "payload.txt"
        payload.write_text("hello\n")
        with rendezvous_server(host=net.a_addr, prefix=tuple(a)) as url:
            join_to_connected(url, b, a)  # warm up
            plain = [join_to_connected(url, b, a) for _ in range(runs)]
            plain_send = [send_to_code(url, payload, b) for _ in range(runs)]
            subprocess.run([*b, "iptables", "-A", "INPUT", "-i", net.b_dev, "-j", "NFQUEUE",
                            "--queue-num", str(queue)], check=True)
            delayer = subprocess.Popen([*b, str(bench_python), str(ROOT / "scripts/delay_queue.py"),
                                        str(queue), str(delay_ms)], stdout=subprocess.PIPE, text=True)
            try:
                assert delayer.stdout is not None and delayer.stdout.readline().strip() == "ready"
                delayed = [join_to_connected(url, b, a) for _ in range(runs)]
                delayed_send = [send_to_code(url, payload, b) for _ in range(runs)]
            finally:
                delayer.terminate()
                delayer.wait()
    lines = []
    for what, fast, slow in (("join start -> connected", plain, delayed),
                             ("send start -> code", plain_send, delayed_send)):
        count = (statistics.median(slow) - statistics.median(fast)) * 1000 / delay_ms
        lines.append(f"round trips {what + ':':24s} {count:.1f} (median {statistics.median(fast) * 1000:.0f} ms "
                     f"between namespaces, {statistics.median(slow) * 1000:.0f} ms with {delay_ms:.0f} ms "
                     f"added towards it; fewer is better: each costs a real network's RTT)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rtt-runs", type=int, default=5)
    parser.add_argument("--delay-ms", type=float, default=300.0)
    parser.add_argument("--bench-venv", type=Path, default=Path("/tmp/bench-venv"))
    parser.add_argument("--layout", choices=[*bench_layout.LAYOUTS, "both"], default="both",
                        help="which rassist is timed (default both; the installed one is what users run)")
    parser.add_argument("--installed-venv", type=Path, default=bench_layout.INSTALLED_VENV,
                        help="where the installed layout's venv is kept between runs")
    args = parser.parse_args()
    layouts = bench_layout.LAYOUTS if args.layout == "both" else (args.layout,)
    installed = bench_layout.install(args.installed_venv) if "installed" in layouts else None
    # As `pip install` does: without bytecode every run would compile rassist again (~40 ms),
    # which no installed copy pays (this environment sets PYTHONDONTWRITEBYTECODE).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "rassist")], check=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    print(f"runs: {args.runs}, cpus: {os.cpu_count()}, load (1 min): {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp, rendezvous_server() as url:
        payload = Path(tmp) / "payload.txt"
        payload.write_text("hello\n")
        for layout in layouts:
            rassist = bench_layout.command(layout, installed)
            env = bench_layout.env(layout)
            print(f"layout: {bench_layout.describe(layout, installed)}")
            startup = []
            for _ in range(5):
                t = time.perf_counter()
                subprocess.run([*rassist, "--help"], capture_output=True, check=True,
                               env={**os.environ, **env})
                startup.append((time.perf_counter() - t) * 1000)
            print(line("process start-up (rassist --help):", startup))
            CPU["send"].clear()
            CPU["join"].clear()
            send_to_code(url, payload, rassist=rassist, env=env)  # warm the page cache
            codes = [send_to_code(url, payload, rassist=rassist, env=env) * 1000
                     for _ in range(args.runs)]
            print(line("send start -> code printed:", codes, TARGET_CODE_MS))
            print(f"{'':38s} CPU time of the sender until then: median {statistics.median(CPU['send'][1:]):.0f} ms")
            join_to_connected(url, rassist=rassist, env=env)
            joins = [join_to_connected(url, rassist=rassist, env=env) * 1000 for _ in range(args.runs)]
            print(line("join start -> connected (loopback):", joins, TARGET_CONNECT_MS))
            print(f"{'':38s} CPU time of the joiner until then: median {statistics.median(CPU['join'][1:]):.0f} ms")
    # Round trips do not depend on the layout: counted with the development venv.
    print(round_trips(args.rtt_runs, args.delay_ms, args.bench_venv / "bin" / "python"))
    print(f"load (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
