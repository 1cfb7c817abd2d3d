"""Test hosts in network namespaces joined by a veth pair (needs root and iproute2)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_counter = itertools.count()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None if they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    probe = f"rassist-probe-{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"the kernel refused 'ip netns add': {getattr(exc, 'stderr', '') or exc}"
    _ip("netns", "del", probe)
    return None


@dataclass
class Lan:
    a: str          # namespace names
    b: str
    a_addr: str     # addresses on the shared link
    b_addr: str
    a_dev: str
    b_dev: str

    def prefix(self, ns: str) -> list[str]:
        """Command prefix to run a program inside namespace `ns`."""
        return ["ip", "netns", "exec", ns]


@contextmanager
def lan() -> Iterator[Lan]:
    """Two namespaces on one link (198.18.N.1 and .2: the benchmarking range, never routed)."""
    n = next(_counter) % 200 + (os.getpid() % 50)
    tag = f"{os.getpid()}{n}"
    a, b = f"ra{tag}", f"rb{tag}"
    da, db = f"va{tag}"[:15], f"vb{tag}"[:15]
    net = f"198.18.{n % 250}"
    _ip("netns", "add", a)
    _ip("netns", "add", b)
    try:
        _ip("link", "add", da, "type", "veth", "peer", "name", db)
        _ip("link", "set", da, "netns", a)
        _ip("link", "set", db, "netns", b)
        for ns, dev, addr in ((a, da, f"{net}.1"), (b, db, f"{net}.2")):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield Lan(a, b, f"{net}.1", f"{net}.2", da, db)
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
