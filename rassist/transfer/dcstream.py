"""The fallback lane: transfer streams multiplexed over the "bulk" RTCDataChannel.

Two brakes keep memory flat on both sides: the sender waits while aiortc holds more than
BUFFER_HIGH bytes (bufferedAmount, woken by "bufferedamountlow"), and it never has more
than WINDOW bytes in flight that the reader has not consumed (credits).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from rassist.protocol import transfer_mux as mux
from rassist.transfer.stream import StreamClosed

log = logging.getLogger("rassist.transfer.dc")
MESSAGE = 64 * 1024 - mux.HEADER_BYTES  # payload per message: the safe WebRTC message size
# Small on purpose: aiortc's SCTP gets slower as more data is in flight (each SACK walks the
# queue of unacknowledged chunks) and a default UDP receive buffer holds only ~100 KB of
# packets; measured on loopback, 2 MB in flight moved 4 MB/s where 256 KB moved 7 MB/s.
WINDOW = 256 * 1024
BUFFER_HIGH = 1 << 20
BUFFER_LOW = 256 * 1024

if TYPE_CHECKING:  # WebRTC loads only when a session needs it (send prints its code first)
    from aiortc import RTCDataChannel

Listen = Callable[[Callable[[str | bytes], None]], None]


class BulkChannel:
    """Owns the bulk channel's incoming messages and routes them to streams by id."""

    def __init__(self, dc: RTCDataChannel, listen: Listen | None = None) -> None:
        from aiortc.exceptions import InvalidStateError

        self._invalid_state = InvalidStateError
        self.dc = dc
        self._streams: dict[bytes, ChannelStream] = {}
        self._low = asyncio.Event()
        self.closed = False
        dc.bufferedAmountLowThreshold = BUFFER_LOW
        dc.on("bufferedamountlow", self._low.set)
        dc.on("close", self._on_close)
        if listen is not None:
            listen(self._on_message)  # the session's listen() also delivers early messages
        else:
            dc.on("message", self._on_message)

    def stream(self, offer_id: str) -> ChannelStream:
        sid = mux.stream_id(offer_id)
        if sid not in self._streams:
            self._streams[sid] = ChannelStream(self, sid)
        return self._streams[sid]

    def forget(self, offer_id: str) -> None:
        self.drop(mux.stream_id(offer_id))

    def drop(self, sid: bytes) -> None:
        self._streams.pop(sid, None)

    def send(self, message: bytes) -> None:
        if self.closed or self.dc.readyState != "open":
            raise StreamClosed("the data channel is closed")
        try:
            self.dc.send(message)
        except self._invalid_state:
            raise StreamClosed("the data channel is closed") from None

    async def room(self) -> None:
        """Until aiortc's send buffer is below the high mark."""
        while self.dc.bufferedAmount > BUFFER_HIGH and not self.closed:
            self._low.clear()
            await self._low.wait()

    def _on_message(self, message: str | bytes) -> None:
        try:
            sid, kind, payload = mux.decode(message)
        except mux.MuxError as exc:
            log.debug("dropped a bulk message: %s", exc)
            return
        stream = self._streams.get(sid)
        if stream is not None:
            stream.deliver(kind, payload)

    def _on_close(self) -> None:
        self.closed = True
        self._low.set()
        for stream in list(self._streams.values()):
            stream.fail(StreamClosed("the data channel closed"))


class ChannelStream:
    lane = "datachannel"

    def __init__(self, channel: BulkChannel, sid: bytes) -> None:
        self._channel = channel
        self._sid = sid
        self._credit = WINDOW
        self._credit_event = asyncio.Event()
        self._inbound: deque[memoryview] = deque()
        self._readable = asyncio.Event()
        self._consumed = 0  # since the last credit we granted
        self._allowed = WINDOW  # what the peer may still send before our next credit
        self._eof = False
        self._error: StreamClosed | None = None
        self._closed = False
        self.received_any = asyncio.Event()  # the peer has said something on this stream

    async def read(self) -> bytes | memoryview:
        while not self._inbound:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            self._readable.clear()
            await self._readable.wait()
        chunk = self._inbound.popleft()
        self._consumed += len(chunk)
        if self._consumed >= WINDOW // 4 and not self._closed:
            self._grant()
        return chunk

    def _grant(self) -> None:
        try:
            self._channel.send(mux.encode_credit(self._sid, self._consumed))
        except StreamClosed:
            return
        self._allowed += self._consumed
        self._consumed = 0

    async def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), MESSAGE):
            piece = view[start : start + MESSAGE]
            while self._credit < len(piece):
                self._check()
                self._credit_event.clear()
                await self._credit_event.wait()
            await self._channel.room()
            self._check()
            self._channel.send(mux.encode(self._sid, mux.DATA, piece))
            self._credit -= len(piece)

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise StreamClosed("the transfer stream is closed")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._channel.room()
            self._channel.send(mux.encode(self._sid, mux.EOF))
        except StreamClosed:
            pass
        self._channel.drop(self._sid)

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._channel.send(mux.encode(self._sid, mux.RESET, b"aborted"))
        except StreamClosed:
            pass
        self._channel.drop(self._sid)
        self.fail(StreamClosed("the transfer stream was aborted"))

    # ---------------------------------------------------------------- from the channel

    def deliver(self, kind: int, payload: memoryview) -> None:
        self.received_any.set()
        if kind == mux.DATA:
            self._allowed -= len(payload)
            if self._allowed < 0:  # only a broken or hostile peer ignores its window
                self.fail(StreamClosed("the peer sent more than its window"))
                self._inbound.clear()
            elif len(payload):
                self._inbound.append(payload)
                self._readable.set()
        elif kind == mux.CREDIT:
            self._credit += mux.credit_amount(payload)
            self._credit_event.set()
        elif kind == mux.EOF:
            self._eof = True
            self._readable.set()
        else:
            reason = bytes(payload[:200]).decode("utf-8", errors="replace")
            self.fail(StreamClosed(f"the peer reset the transfer stream ({reason})"))

    def fail(self, error: StreamClosed) -> None:
        if self._error is None:
            self._error = error
        self._readable.set()
        self._credit_event.set()
