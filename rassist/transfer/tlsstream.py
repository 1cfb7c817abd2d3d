"""A TLS socket driven by one worker thread, exposed to asyncio as a ByteStream.

asyncio's own TLS transport runs OpenSSL and its buffer juggling on the event-loop thread
and tops out near 200 MB/s here before any hashing or disk work. A thread that owns the
socket (OpenSSL objects must not be shared between threads) encrypts and decrypts in
parallel with the event loop and the hashing threads, with bounded queues both ways so
memory stays flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
import ssl
import threading
import time
from collections import deque

from rassist.transfer.stream import StreamClosed

OUT_HIGH = 8 << 20  # write() waits while more than this is queued
OUT_LOW = 2 << 20
IN_CAP = 8 << 20  # the thread stops reading while this much waits for read()
READ_BATCH = 1 << 20
SMALL_READ = READ_BATCH // 8  # a read this small is copied out and its buffer kept
FREE_BUFFERS = IN_CAP // READ_BATCH  # kept for reuse: a fresh 1 MiB bytearray is zeroed first
LINGER = 2.0  # after our last byte, read (and drop) until the peer closes, at most this long


class TlsStream:
    lane = "tcp"

    def __init__(self, sock: ssl.SSLSocket) -> None:
        """`sock` has completed its handshake; this object owns it from now on."""
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self._lock = threading.Lock()
        self._out: deque[bytes | memoryview] = deque()
        self._out_bytes = 0
        self._in: deque[tuple[bytes | memoryview, bytearray | None]] = deque()  # chunk, its buffer
        self._in_bytes = 0
        self._lent: bytearray | None = None  # the buffer of the chunk read() returned last
        self._free: list[bytearray] = []  # buffers the reader has finished with
        self._spare: bytearray | None = None  # the thread's buffer for its next batch
        self._eof = False
        self._error: BaseException | None = None
        self._closing = False  # flush, then close
        self._aborted = False
        self._finished = False  # the thread has exited
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed_waiter: asyncio.Future[None] = self._loop.create_future()
        self._wake_lock = threading.Lock()  # the pipe closes with the thread: never write after
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        sock.setblocking(False)
        self.peer = _peer_name(sock)
        self._thread = threading.Thread(target=self._run, name="rassist-tls", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- asyncio side

    async def read(self) -> bytes | memoryview:
        """The next chunk; it stays valid until the next call of read() (its buffer is reused)."""
        with self._lock:
            if self._lent is not None and len(self._free) < FREE_BUFFERS:
                self._free.append(self._lent)
            self._lent = None
        while True:
            with self._lock:
                if self._in:
                    chunk, self._lent = self._in.popleft()
                    was_full = self._in_bytes >= IN_CAP
                    self._in_bytes -= len(chunk)
                    if was_full and self._in_bytes < IN_CAP:
                        self._wake()
                    return chunk
                if self._error is not None:
                    raise _closed(self._error)
                if self._eof:
                    return b""
                waiter = self._read_waiter = self._loop.create_future()
            await waiter

    async def write(self, data: bytes | memoryview) -> None:
        if not data:
            return
        with self._lock:
            if self._error is not None:
                raise _closed(self._error)
            if self._closing or self._aborted:
                raise StreamClosed("the fast lane is closed")
            self._out.append(data)
            self._out_bytes += len(data)
            must_wait = self._out_bytes > OUT_HIGH
            if must_wait:
                waiter = self._drain_waiter = self._loop.create_future()
        self._wake()
        if must_wait:
            await waiter
            if self._error is not None:
                raise _closed(self._error)

    async def aclose(self) -> None:
        with self._lock:
            self._closing = True
        self._wake()
        await asyncio.shield(self._closed_waiter)

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
        self._wake()

    # ---------------------------------------------------------------- thread side

    def _wake(self) -> None:
        with self._wake_lock:
            if self._wake_w >= 0:
                with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
                    os.write(self._wake_w, b"x")

    def _notify(self, attr: str) -> None:
        """Resolve a waiter (on the loop thread)."""

        def resolve() -> None:
            waiter = getattr(self, attr)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            setattr(self, attr, None)

        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            self._loop.call_soon_threadsafe(resolve)

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            self._pump()
        except (OSError, ssl.SSLError, ValueError) as exc:
            error = exc
        finally:
            with contextlib.suppress(OSError):
                self._sock.close()
            with self._lock:
                if error is not None and self._error is None and not self._aborted:
                    self._error = error
                if self._aborted and self._error is None:
                    self._error = StreamClosed("the fast lane was closed")
                self._eof = True  # closed by us: later reads see the end
                self._finished = True
            with self._wake_lock:
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_r = self._wake_w = -1
            self._notify("_read_waiter")
            self._notify("_drain_waiter")

            def closed() -> None:
                if not self._closed_waiter.done():
                    self._closed_waiter.set_result(None)

            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(closed)

    def _pump(self) -> None:
        sock = self._sock
        wake_fd, sock_fd = self._wake_r, sock.fileno()
        poller = select.poll()
        poller.register(wake_fd, select.POLLIN)
        current: bytes | memoryview | None = None  # a write OpenSSL asked us to repeat
        write_needs_read = False
        while True:
            with self._lock:
                if self._aborted:
                    return
                if current is None and self._out:
                    current = self._out.popleft()
                can_read = not self._eof and self._in_bytes < IN_CAP
                closing = self._closing
            if current is None and closing:
                self._linger()
                return
            mask = (select.POLLIN if can_read or write_needs_read else 0) | (
                select.POLLOUT if current is not None and not write_needs_read else 0
            )
            if mask:
                poller.register(sock_fd, mask)
            else:
                with contextlib.suppress(KeyError):
                    poller.unregister(sock_fd)
            ready = dict(poller.poll())
            if ready.get(wake_fd):
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_fd, 4096)
            events = ready.get(sock_fd, 0)
            if events & (select.POLLIN | select.POLLERR | select.POLLHUP):
                write_needs_read = False
                if can_read:
                    self._read_some()
            if current is not None and events:
                try:
                    sent = sock.send(current)
                except ssl.SSLWantWriteError:
                    continue
                except ssl.SSLWantReadError:
                    write_needs_read = True
                    continue
                if sent < len(current):  # not with OpenSSL's all-or-nothing writes, but be safe
                    current = memoryview(current)[sent:]
                    continue
                with self._lock:
                    before = self._out_bytes
                    self._out_bytes -= len(current)
                    crossed = before > OUT_LOW >= self._out_bytes
                current = None
                if crossed:
                    self._notify("_drain_waiter")

    def _linger(self) -> None:
        """Half-close, then drain until the peer closes too. Closing with unread data would
        send a reset, and a reset can destroy our last frames in the peer's receive buffer."""
        sock = self._sock
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_WR)  # the raw socket: keep TLS readable
        deadline = time.monotonic() + LINGER
        scratch = bytearray(READ_BATCH)
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        while not self._eof:
            left = deadline - time.monotonic()
            if left <= 0 or self._aborted:
                return
            try:
                if sock.recv_into(scratch) == 0:
                    return
                continue
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (OSError, ssl.SSLError):
                return
            if not poller.poll(left * 1000):
                return

    def _read_some(self) -> None:
        buf = self._spare
        if buf is None:
            with self._lock:
                buf = self._free.pop() if self._free else None
            buf = buf if buf is not None else bytearray(READ_BATCH)
        self._spare = None
        view = memoryview(buf)
        got = 0
        eof = False
        while got < READ_BATCH:
            try:
                n = self._sock.recv_into(view[got:])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            if n == 0:
                eof = True
                break
            got += n
        lent: bytearray | None = buf
        chunk: bytes | memoryview = view[:got]
        if got < SMALL_READ:  # keep the big buffer: a trickle must not pin 1 MiB per chunk
            chunk, lent, self._spare = bytes(chunk), None, buf
        with self._lock:
            if got:
                self._in.append((chunk, lent))
                self._in_bytes += got
            if eof:
                self._eof = True
        if got or eof:
            self._notify("_read_waiter")


def _closed(error: BaseException) -> StreamClosed:
    if isinstance(error, StreamClosed):
        return error
    return StreamClosed(f"the fast lane broke: {error}")


def _peer_name(sock: socket.socket) -> str:
    with contextlib.suppress(OSError):
        host, port = sock.getpeername()[:2]
        return f"{host}:{port}"
    return "?"
