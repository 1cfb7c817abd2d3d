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
