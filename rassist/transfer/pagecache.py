"""Keeping a large transfer out of the page cache, on both sides.

The sender drops what it has read and the receiver what it has written back, every EVERY
bytes. Later reads and writes then reuse the freed cache pages instead of taking fresh ones:
on a VM whose host takes free guest memory back (virtio-balloon free page reporting) every
fresh page costs a host fault, and moving 1 GiB through fresh cache cost 1.3-2.0 s of CPU
against 0.2-0.3 s with recycled pages. It also keeps a big transfer from pushing the user's
own files out of the cache. Files smaller than EVERY are left alone, and so is a file the
sender finds already cached when it starts (someone uses it: it stays where it was).
"""

from __future__ import annotations

import contextlib
import os

EVERY = 32 << 20


def drop(fd: int) -> None:
    """Ask the kernel to drop the file's clean cached pages (dirty ones stay until written)."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):  # only advice: some file systems refuse it
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def cached(fd: int, start: int, end: int, probes: int = 4) -> bool:
    """Whether the file's bytes in [start, end) look cached: a non-blocking 1-byte read
    (RWF_NOWAIT) at a few places. False where that cannot be told."""
    if not hasattr(os, "preadv") or not hasattr(os, "RWF_NOWAIT") or end <= start:
        return False
    probe = bytearray(1)
    for k in range(probes):
        try:
            if os.preadv(fd, [probe], start + (end - start) * k // probes, os.RWF_NOWAIT) != 1:
                return False
        except OSError:  # EAGAIN: not cached; EOPNOTSUPP and the like: cannot tell
            return False
    return True
