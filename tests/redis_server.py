"""A throwaway redis-server for tests and benchmarks: a unix socket in a temporary directory,
nothing saved to disk."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def unavailable_reason() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (.ci/run installs it with apt-get install redis-server)"
    return None


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server; yields its URL (unix://...)."""
    with tempfile.TemporaryDirectory(prefix="rassist-redis-") as tmp:
        sock = Path(tmp) / "redis.sock"
        proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
                                 "--appendonly", "no", "--dir", tmp, "--maxclients", "20000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not sock.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.02)
            yield f"unix://{sock}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_node(redis_url: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """`rassist server --redis` in its own process (so that a test can kill it); its URL."""
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "rassist", "server", "--host", "127.0.0.1", "--port", "0",
                             "--no-stun", "--redis", redis_url, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("ws://"):
        proc.kill()
        raise RuntimeError(f"the node did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, url


@contextmanager
def cluster(redis_url: str, count: int = 2, *extra: str) -> Iterator[list[tuple[subprocess.Popen[str], str]]]:
    """`count` nodes on one Redis, each in its own process; all killed at the end."""
    nodes: list[tuple[subprocess.Popen[str], str]] = []
    try:
        for _ in range(count):
            nodes.append(start_node(redis_url, *extra))
        yield nodes
    finally:
        for proc, _ in nodes:
            proc.kill()
            proc.wait()
