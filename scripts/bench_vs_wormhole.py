#!/usr/bin/env python3
"""One file end to end, rassist against magic-wormhole, side by side in one run.

Both tools get the same file, their own servers on loopback (rassist: `rassist server`;
magic-wormhole: its mailbox server and its transit relay), a preset code, and both sides are
started together; the figure is from that start to the receiver's exit (what a runbook waits
for). Runs alternate between the tools; medians over --runs. Target: rassist >= 1.5x faster.

magic-wormhole lives in its own venv (not a project dependency):

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install magic-wormhole==0.24.* magic-wormhole-mailbox-server \\
        magic-wormhole-transit-relay netfilterqueue
    scripts/bench_vs_wormhole.py --bench-venv /tmp/bench-venv --size-mb 128
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.bench_transfer import make_file  # noqa: E402
from tests.procs import rendezvous_server  # noqa: E402

TARGET_RATIO = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def wormhole_servers(venv: Path, tmp: Path) -> Iterator[tuple[str, str]]:
    mailbox, transit = free_port(), free_port()
    twist = str(venv / "bin" / "twist")
    procs = [
        subprocess.Popen([twist, "wormhole-mailbox", f"--port=tcp:{mailbox}:interface=127.0.0.1",
                          f"--channel-db={tmp / 'relay.sqlite'}"], cwd=tmp,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([twist, "transitrelay", f"--port=tcp:{transit}:interface=127.0.0.1"],
                         cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait_port(mailbox)
        wait_port(transit)
        yield f"ws://127.0.0.1:{mailbox}/v1", f"tcp:127.0.0.1:{transit}"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, float]:
    """Exit code and peak RSS (MiB) of one process, waited for with wait4."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss / 1024
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{proc.args[:3]} did not finish in {timeout} s")
        time.sleep(0.002)


def run_pair(send: list[str], receive: list[str], target: Path, size: int, cwd: Path
             ) -> tuple[float, float, float]:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    logs = [cwd / "sender.log", cwd / "receiver.log"]
    with open(logs[0], "w") as send_log, open(logs[1], "w") as receive_log:
        start = time.perf_counter()
        sender = subprocess.Popen(send, cwd=cwd, stdin=subprocess.DEVNULL, stdout=send_log,
                                  stderr=subprocess.STDOUT)
        receiver = subprocess.Popen(receive, cwd=target, stdin=subprocess.DEVNULL,
                                    stdout=receive_log, stderr=subprocess.STDOUT)
        try:
            rc, rss_recv = finish(receiver, 120)
            took = time.perf_counter() - start
            rc_send, rss_send = finish(sender, 60)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {[log.read_text()[-1500:] for log in logs]}") from None
        finally:
            for proc in (sender, receiver):
                if proc.poll() is None:
                    proc.kill()
    got = next(target.iterdir(), None)
    if rc or rc_send or got is None or got.stat().st_size != size:
        tails = [log.read_text()[-1500:] for log in logs]
        raise RuntimeError(f"{send[:4]}: exit codes {rc_send}/{rc}, received {got}: {tails}")
    return took, rss_send, rss_recv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=128)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--bench-venv", type=Path, default=Path("/tmp/bench-venv"))
    parser.add_argument("--dir", default=None, help="where to put the files (default: a temp dir)")
    args = parser.parse_args()
    wormhole = args.bench_venv / "bin" / "wormhole"
    if not wormhole.exists():
        sys.exit(f"no {wormhole}: create the benchmark venv first (see --help)")
    version = subprocess.run([str(wormhole), "--version"], capture_output=True, text=True).stdout.strip()
    size = args.size_mb << 20
    print(f"file: {args.size_mb} MiB, runs: {args.runs}, {version}, cpus: {os.cpu_count()}, "
          f"load (1 min): {os.getloadavg()[0]:.2f}")
    rassist = [sys.executable, "-m", "rassist"]
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="rassist-vs-wormhole-") as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "payload.bin"
        make_file(source, size)
        os.environ["RASSIST_REGISTRY"] = str(tmp / "registry")
        results: dict[str, list[tuple[float, float, float]]] = {"rassist": [], "magic-wormhole": []}
        with rendezvous_server() as url, wormhole_servers(args.bench_venv, tmp) as (relay, transit):
            for run in range(args.runs + 1):  # the first round warms the page cache
                code = f"{run + 10}-hesitate-shadow"
                ours = run_pair(
                    [*rassist, "send", str(source), "--json", "--code", code, "--server", url],
                    [*rassist, "receive", code, "--json", "--yes", "-o", ".", "--server", url],
                    tmp / "got-rassist", size, tmp)
                theirs = run_pair(
                    [str(wormhole), "--relay-url", relay, "--transit-helper", transit, "send",
                     "--hide-progress", "--code", code, str(source)],
                    [str(wormhole), "--relay-url", relay, "--transit-helper", transit, "receive",
                     "--hide-progress", "--accept-file", "-o", "payload.bin", code],
                    tmp / "got-wormhole", size, tmp)
                if run:
                    results["rassist"].append(ours)
                    results["magic-wormhole"].append(theirs)
    mb = size / 1e6
    medians = {}
    for tool, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        medians[tool] = wall
        print(f"{tool:15s} start -> receiver exit: median {wall:6.2f} s ({mb / wall:6.1f} MB/s), "
              f"min {min(r[0] for r in runs):.2f} s, max {max(r[0] for r in runs):.2f} s; "
              f"peak RSS sender {statistics.median(r[1] for r in runs):.0f} MiB, "
              f"receiver {statistics.median(r[2] for r in runs):.0f} MiB")
    ratio = medians["magic-wormhole"] / medians["rassist"]
    print(f"rassist is {ratio:.2f}x as fast as magic-wormhole end to end   target >= {TARGET_RATIO}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    print(f"load (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
