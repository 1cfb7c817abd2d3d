"""100 MB of output through a shared shell: neither side's memory grows with it, and a joiner
that watches with --json ends with the real last screen (repaints replace what it skipped)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.procs import Proc

SIZE = 100_000_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def watch_peak(pid: int, peaks: dict[int, float], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            peaks[pid] = max(peaks.get(pid, 0.0), rss_mb(pid))
        except OSError:
            return
        time.sleep(0.05)


def test_100_mb_of_output_keeps_both_sides_memory_bounded(server, tmp_path):
    go = tmp_path / "go"
    script = (f"while [ ! -e {go} ]; do sleep 0.05; done; head -c {SIZE} /dev/zero | tr '\\0' x | fold -w 100; "
              "echo; echo flood-over; sleep 1")
    host = Proc(["host", "--shell", "--json", "--yes", "--server", server, "--cast", str(tmp_path / "f.cast"),
                 "--", "sh", "-c", script])
    code = host.wait_event("code")["code"]
    joiner = Proc(["join", code, "--no-tui", "--server", server])  # not a terminal, no JSON: just watches
    host.wait_event("connected")
    time.sleep(1)
    rest = {pid: rss_mb(pid) for pid in (host.proc.pid, joiner.proc.pid)}
    peaks: dict[int, float] = {}
    stop = threading.Event()
    watchers = [threading.Thread(target=watch_peak, args=(pid, peaks, stop), daemon=True) for pid in rest]
    for watcher in watchers:
        watcher.start()
    go.touch()
    try:
        host.wait_event("shell-exit", timeout=600)
    finally:
        stop.set()
    assert host.wait_event("closed")["reason"] == "shell-exited"
    assert host.wait_exit() == 0 and joiner.wait_exit() == 0
    for pid, before in rest.items():
        assert peaks[pid] - before < 60, f"RSS grew from {before:.0f} MB to {peaks[pid]:.0f} MB"
    assert (tmp_path / "f.cast").stat().st_size > SIZE  # every byte is in the recording


def test_a_json_joiner_after_a_flood_has_the_real_last_screen(server, tmp_path):
    host = Proc(["host", "--shell", "--json", "--allow", "control", "--server", server,
                 "--cast", str(tmp_path / "f.cast"), "--", "bash", "--norc", "--noprofile", "-i"],
                env={"PS1": "$ "})
    code = host.wait_event("code")["code"]
    joiner = Proc(["join", code, "--json", "--control", "--server", server])
    joiner.wait_event("control", state="granted")
    joiner.send({"term-input": "seq 1 300000; echo the-end-$((6*7))\n"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        joiner.send({"term-screen": True})
        lines = joiner.wait_event("term-screen")["lines"]
        if "the-end-42" in lines:
            break
        time.sleep(0.5)
    assert lines[lines.index("the-end-42") - 1] == "300000"
    joiner.send({"term-input": "exit\n"})
    assert host.wait_exit() == 0
