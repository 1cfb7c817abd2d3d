"""heap.pin_mmap_threshold: big buffers freed while small ones stay go back to the system
(without it glibc serves them from an arena after the first big block is freed, and keeps
them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = r"""
import ctypes, json, sys
from rassist.media.heap import pin_mmap_threshold
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
pinned = pin_mmap_threshold() if sys.argv[1] == "pin" else False
# A full-screen buffer freed: glibc's threshold would now rise past the frames below.
big = libc.malloc(16 << 20); ctypes.memset(big, 1, 16 << 20); libc.free(big)
frames, keep = [], []
for _ in range(20):  # 6 MB frames (a 1080p 4:4:4 picture), each followed by a small block that stays
    block = libc.malloc(6 << 20); ctypes.memset(block, 1, 6 << 20); frames.append(block)
    small = libc.malloc(4096); ctypes.memset(small, 1, 4096); keep.append(small)
before = rss()
for block in frames:
    libc.free(block)
print(json.dumps({"pinned": pinned, "given_back_mb": before - rss()}))
"""


def given_back(mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_frames_go_back_to_the_system() -> None:
    pinned = given_back("pin")
    assert pinned["pinned"]
    assert pinned["given_back_mb"] > 100  # of 120 MB of frames
    assert given_back("default")["given_back_mb"] < 30  # what the pin is for
