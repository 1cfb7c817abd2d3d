#!/usr/bin/env python3
"""Throughput of `rassist send` / `rassist receive` on loopback, and peak RSS of each side.

Real processes and a local rendezvous server. For each lane (the TLS fast lane, and the
data-channel fallback with --no-fast-lane) it sends one file of random bytes --runs times
and prints the median throughput twice: over the whole run (receiver start to exit: pairing,
ICE, offer, transfer, verification) and over the transfer alone (the receiver's
transfer-done "seconds"), plus the median peak RSS (VmHWM, from wait4) of sender and receiver.
It also prints the CPU seconds of each side (user + system, from wait4: steadier than wall
time on a shared machine) and the file system the files are on: the source and the received
copy both live under --dir (default: the system's temp dir, which may be a disk or tmpfs).
The source is read into the page cache before each run, or with --cold evicted from it, as
for a file not read lately.
Run it with two sizes to see that memory does not grow with the file:
    scripts/bench_transfer.py --size-mb 1024 --lanes fast --runs 10
    scripts/bench_transfer.py --size-mb 64 --lanes fast --runs 10
Targets (fast lane, 1 GiB): >= 400 MB/s for the transfer, peak RSS <= 100 MiB per side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.procs import Proc, rendezvous_server  # noqa: E402
from tests.transfer.cmd import rassist  # noqa: E402

TARGET_MBPS = 400
TARGET_RSS_MIB = 100


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
            block = block[1:] + block[:1]  # not one repeated MB: no help from any compression


def file_system(path: Path) -> str:
    """The type and device of the file system holding path (tmpfs or a disk), from /proc/mounts."""
    best, found = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                device, point, kind = line.split()[:3]
                inside = str(path.resolve()).startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, found = point, f"{kind} on {device}"
    except OSError:
        pass
    return found


def wait_rss(proc: Proc, timeout: float) -> tuple[int, int, float]:
    """Exit code, peak RSS in KiB and CPU seconds (user + system) of one finished process."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.proc.pid, os.WNOHANG)
        if pid:
            proc.proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{proc.args[3:5]} did not finish in {timeout} s")
        time.sleep(0.02)


def evict(path: Path) -> None:
    """Out of the page cache (written back first): the sender reads it from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(path: Path) -> None:
    """Into the page cache (the sender drops what it sent: every run starts alike)."""
    buf = bytearray(1 << 20)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def one_run(url: str, source: Path, target: Path, lane_args: list[str], timeout: float,
            cold: bool = False) -> dict[str, float]:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    if cold:
        evict(source)
    else:
        warm(source)
    sender = rassist(["send", str(source), "--json", "--server", url, *lane_args])
    code = sender.wait_event("code")["code"]
    sender.wait_event("waiting")
    start = time.perf_counter()
    receiver = rassist(["receive", code, "--json", "--yes", "-o", str(target), "--server", url,
                        *lane_args])
    rc_recv, rss_recv, cpu_recv = wait_rss(receiver, timeout)
    wall = time.perf_counter() - start
    rc_send, rss_send, cpu_send = wait_rss(sender, timeout)
    if rc_recv or rc_send:
        raise RuntimeError(f"exit codes {rc_send}/{rc_recv}: {receiver.drain()[-3:]}")
    done = next(e for e in receiver.drain() if e.get("event") == "transfer-done")
    received = target / source.name
    if received.stat().st_size != source.stat().st_size:
        raise RuntimeError("the received file has the wrong size")
    return {"wall": wall, "transfer": done["seconds"], "lane": done["lane"],
            "rss_send": rss_send / 1024, "rss_recv": rss_recv / 1024,
            "cpu_send": cpu_send, "cpu_recv": cpu_recv}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lanes", default="fast,fallback", help="fast, fallback or both")
    parser.add_argument("--dir", default=None, help="where to put the files (default: a temp dir)")
    parser.add_argument("--cold", action="store_true",
                        help="evict the source file from the page cache before each run (a file "
                             "not read lately, as most files a user sends)")
    args = parser.parse_args()
    size = args.size_mb << 20
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="rassist-bench-") as tmp:
        source = Path(tmp) / "payload.bin"
        make_file(source, size)
        env_registry = Path(tmp) / "registry"
        os.environ["RASSIST_REGISTRY"] = str(env_registry)
        print(f"files in {tmp} ({file_system(Path(tmp))}); source "
              f"{'evicted from the page cache before each run' if args.cold else 'cached'}")
        print(f"file: {args.size_mb} MiB, runs: {args.runs}, cpus: {os.cpu_count()}, "
              f"load: {os.getloadavg()[0]:.2f}")
        with rendezvous_server() as url:
            for lane in args.lanes.split(","):
                lane_args = ["--no-fast-lane"] if lane == "fallback" else []
                timeout = 60 + size / (1 << 20) * (1.0 if lane == "fallback" else 0.1)
                runs = [one_run(url, source, Path(tmp) / "received", lane_args, timeout, args.cold)
                        for _ in range(args.runs)]
                mb = size / 1e6
                wall = statistics.median(r["wall"] for r in runs)
                transfer = statistics.median(r["transfer"] for r in runs)
                print(f"{lane:8s} lane={runs[0]['lane']:11s} "
                      f"with setup: {mb / wall:7.1f} MB/s ({wall:.2f} s)   "
                      f"transfer only: {mb / transfer:7.1f} MB/s ({transfer:.2f} s)   "
                      f"peak RSS sender {statistics.median(r['rss_send'] for r in runs):.0f} MiB, "
                      f"receiver {statistics.median(r['rss_recv'] for r in runs):.0f} MiB")
                print(f"          CPU seconds (user + system, whole process) sender "
                      f"{statistics.median(r['cpu_send'] for r in runs):.2f}, receiver "
                      f"{statistics.median(r['cpu_recv'] for r in runs):.2f}")
                print("          runs (MB/s transfer only): "
                      + ", ".join(f"{mb / r['transfer']:.1f}" for r in runs))
                if lane == "fast":
                    rss = max(statistics.median(r["rss_send"] for r in runs),
                              statistics.median(r["rss_recv"] for r in runs))
                    print(f"          targets: transfer >= {TARGET_MBPS} MB/s: "
                          f"{'met' if mb / transfer >= TARGET_MBPS else 'NOT met'}; "
                          f"peak RSS <= {TARGET_RSS_MIB} MiB per side: "
                          f"{'met' if rss <= TARGET_RSS_MIB else 'NOT met'}")
        print(f"load (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
