"""The byte stream the transfer engine runs over: the TLS fast lane or the data-channel fallback."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from rassist.errors import ConnectionLost


class StreamClosed(ConnectionLost):
    """The bulk stream ended before the transfer did."""


class ByteStream(Protocol):
    lane: str  # "tcp" or "datachannel", reported in events

    async def read(self) -> bytes | memoryview:
        """The next chunk of bytes (any size); b"" once the peer has finished sending.
        A chunk may be a view into a buffer that is reused: use it before the next read()."""
        ...

    async def write(self, data: bytes | memoryview) -> None:
        """Queue data; returns once the stream can take more (back-pressure)."""
        ...

    async def aclose(self) -> None:
        """Send what is queued, then close."""
        ...

    def abort(self) -> None:
        """Close now, dropping what is queued."""
        ...


_closing: set[asyncio.Future[None]] = set()


def close_later(stream: ByteStream) -> None:
    """Close in the background: the transfer is complete once its last frame is queued, and
    the peer may hang up the session at once; flushing and lingering must not hold it up."""

    async def close() -> None:
        with contextlib.suppress(Exception):
            await stream.aclose()

    task = asyncio.ensure_future(close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def fail(stream: ByteStream, exc: BaseException, error: bytes) -> None:
    """Tell the peer why we stop (the `error` frame) unless the stream itself broke, then close."""
    if not isinstance(exc, StreamClosed):
        try:
            await asyncio.wait_for(stream.write(error), 1.0)
            await asyncio.wait_for(stream.aclose(), 2.0)
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - already failing
            pass
    stream.abort()
