"""Keeping a large transfer out of the page cache, on both sides.

The sender drops what it has read and the receiver what it has written back, every EVERY
bytes. Later reads and writes then reuse the freed cache pages instead of taking fresh ones:
on a VM whose host takes free guest memory back (virtio-balloon free page reporting) every
fresh page costs a host fault, and moving 1 GiB through fresh cache cost 1.3-2.0 s of CPU
against 0.2-0.3 s with recycled pages. It also keeps a big transfer from pushing the user's
own files out of the cache. Files smaller than EVERY are left alone.
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
