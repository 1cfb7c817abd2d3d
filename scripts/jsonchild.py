"""A benchmark's helper process spoken to in JSON lines (stdin commands, stdout answers), with
its CPU time and memory read from /proc; and the child's side of that talk (commands, answer_offer).
Shared by bench_video.py and bench_viewers.py."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class JsonChild:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("child process ended")
        return json.loads(line)

    def ask(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.read()

    def cpu_seconds(self) -> float:
        return process_cpu(self.proc.pid)

    def memory(self) -> tuple[float, float]:
        """Resident and peak resident memory, MB."""
        status = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024

    def close(self) -> None:
        try:
            self.send(do="quit")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- the child's side

async def commands() -> AsyncIterator[dict[str, Any]]:
    """Each command from stdin (read off the event loop) until the end of input or "quit";
    answer each with print(json.dumps(...), flush=True)."""
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        cmd = json.loads(line)
        if cmd["do"] == "quit":
            return
        yield cmd


async def answer_offer(pc: Any, sdp: str) -> str:
    """The SDP answer of an aiortc peer connection to `sdp`."""
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    return pc.localDescription.sdp
