"""The .part file being filled on the receiver: written and hashed on a worker thread, and
written back to the disk as it grows.

Every pagecache.EVERY bytes a background flush (fdatasync) puts the new bytes on the disk and
drops them from the page cache (see rassist.transfer.pagecache for why). The disk works while
the network does, so the fsync before the file gets its name has little left to wait for.
One flush runs at a time; the next write waits for it (back-pressure when the disk is slower
than the link). What is on the disk is exactly what a plain write would leave there.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from rassist.transfer import pagecache

FLUSH_EVERY = pagecache.EVERY


def _flush(fd: int) -> None:
    """On a worker thread, with its own descriptor (closed here): the file may be closed, and
    its number reused, while this runs."""
    try:
        os.fdatasync(fd)
        pagecache.drop(fd)
    finally:
        os.close(fd)


class PartWriter:
    def __init__(self, index: int, file: Any, hasher: Any, left: int, offset: int) -> None:
        self.index = index
        self.file = file  # an unbuffered (raw) or buffered binary file from Staging.open_part
        self.hasher = hasher
        self.left = left  # bytes still expected
        self.offset = offset  # where this run started (resume)
        self.written = 0
        self._unflushed = 0
        self._flush: asyncio.Future[None] | None = None

    def _write(self, data: memoryview) -> None:
        view = memoryview(data)
        while view:  # a raw file may take less than asked
            n = self.file.write(view)
            view = view[n:]
        self.hasher.update(data)

    async def write(self, data: memoryview) -> None:
        """Write and hash on a worker thread; OSError (from here or an earlier flush) out."""
        await asyncio.to_thread(self._write, data)
        self.left -= len(data)
        self.written += len(data)
        self._unflushed += len(data)
        if self._unflushed >= FLUSH_EVERY:
            await self._wait_flush()
            self._unflushed = 0
            loop = asyncio.get_running_loop()
            self._flush = loop.run_in_executor(None, _flush, os.dup(self.file.fileno()))

    async def _wait_flush(self) -> None:
        flush, self._flush = self._flush, None
        if flush is not None:
            await flush

    async def finish(self) -> None:
        """Everything written so far handed to the kernel, the last flush's error raised."""
        await asyncio.to_thread(self.file.flush)
        await self._wait_flush()

    async def close(self) -> None:
        """Close the file; a flush still running finishes on its own descriptor."""
        flush, self._flush = self._flush, None
        if flush is not None:
            flush.add_done_callback(_seen)
        await asyncio.to_thread(self.file.close)


def _seen(flush: asyncio.Future[None]) -> None:
    if not flush.cancelled():
        flush.exception()  # a failed flush of a failed transfer is no news
