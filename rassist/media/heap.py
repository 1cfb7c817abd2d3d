"""The host's heap while it shares a screen: big buffers on their own mappings, so that memory
freed goes back to the system.

glibc serves an allocation above its mmap threshold from a mapping of its own and unmaps it on
free; smaller ones come from arenas, which keep what they once held. By default the threshold
rises to the size of every mapped block freed (up to 32 MB): after the first full-screen buffer
(8 MB of BGRA) is freed, 1080p frame buffers and libx264's buffers (~80 MB per encoder, which is
restarted for each new size, chroma or far-off rate) come from the arenas instead. On shaped
links, with their encoder restarts, that left ~50 MB free but held in the arenas: RSS 207-231 MB
against 190 MB on loopback. A fixed threshold of LARGE keeps full-screen buffers and libx264's
frames on their own mappings, while a moving region's per-frame buffers (a 960x540 region: 2 MB)
are still recycled from the arenas: a fresh mapping per frame would cost page faults each time.
"""

from __future__ import annotations

import ctypes
import sys

LARGE = 4 << 20  # bytes: allocations from here up get a mapping of their own
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter

_pinned = False


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at LARGE (once per process); False where it is not glibc."""
    global _pinned
    if _pinned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False  # musl and others: they do not grow a threshold like this
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    _pinned = bool(mallopt(M_MMAP_THRESHOLD, LARGE))
    return _pinned
