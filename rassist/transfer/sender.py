"""Sending one accepted offer over a ByteStream: files read and hashed as they stream.

Each file is read once, on a worker thread that hashes as it reads; its SHA-256 follows its
bytes. On resume the sender hashes the prefix the receiver reports having and continues
after it only if both digests agree. A file counts as done when the receiver acknowledged
it, that is after the receiver's own digest matched.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from typing import Any

from rassist.protocol import transfer_frames as fr
from rassist.protocol.transfer import Offer
from rassist.protocol.transfer_resume import ResumeError, ResumeInfo, parse_resume, start_offset
from rassist.session import Emit
from rassist.transfer import pagecache
from rassist.transfer.progress import Meter
from rassist.transfer.receiver import FileResult, TransferResult, error_frame, peer_error
from rassist.transfer.scan import Scan
from rassist.transfer.staging import TransferError
from rassist.transfer.stream import ByteStream, StreamClosed, close_later, fail

CHUNK = 1 << 20
DROP_EVERY = pagecache.EVERY


def _open_source(path: str, size: int) -> Any:
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise TransferError(f"{path}: {exc.strerror or exc}", "source") from None
    if os.fstat(f.fileno()).st_size != size:
        f.close()
        raise TransferError(f"{path} changed since it was offered; send it again", "source")
    return f


def _hash_prefix(f: Any, length: int) -> Any:
    hasher = hashlib.sha256()
    left = length
    while left:
        chunk = f.read(min(CHUNK, left))
        if not chunk:
            break
        hasher.update(chunk)
        left -= len(chunk)
    return hasher


class _Source:
    """A source file read and hashed on a worker thread. Unless it was in the page cache when
    we started, what has been read is dropped from the cache every pagecache.EVERY bytes
    (see rassist.transfer.pagecache)."""

    def __init__(self, f: Any, hasher: Any, start: int, end: int) -> None:
        self.f = f
        self.hasher = hasher
        self._since_drop = 0
        self._drop = end - start >= DROP_EVERY and not pagecache.cached(f.fileno(), start, end)

    def read(self, size: int) -> bytes:
        data = self.f.read(size)
        self.hasher.update(data)
        self._since_drop += len(data)
        if self._drop and self._since_drop >= DROP_EVERY:
            self._since_drop = 0
            pagecache.drop(self.f.fileno())
        return data


class Sender:
    def __init__(self, offer: Offer, scan: Scan, emit: Emit, name: str = "",
                 limit_rate: float | None = None) -> None:
        self.offer = offer
        self.scan = scan
        self.emit = emit
        self.name = name or ", ".join(offer.names)
        self.limit_rate = limit_rate
        self._sent: dict[int, tuple[str, int, int]] = {}  # index -> (sha256, moved, offset)
        self._result: TransferResult | None = None
        self._fin: asyncio.Future[None] | None = None

    async def run(self, stream: ByteStream, decoder: fr.FrameDecoder,
                  early: list[fr.Frame | fr.Data]) -> TransferResult:
        reader: asyncio.Future[None] | None = None
        try:
            result = self._result = TransferResult(self.offer.id, "send", stream.lane)
            started = time.monotonic()
            manifest = self.scan.manifest
            await stream.write(fr.encode(fr.MANIFEST, manifest.encode()))
            decoder.max_body = fr.resume_limit(manifest.file_count)
            frames = _Frames(stream, decoder, early)
            resume = await frames.next()
            decoder.max_body = fr.SMALL_BODY
            if resume.type == fr.ERROR:
                raise peer_error(resume, "receiver")
            if resume.type != fr.RESUME:
                raise TransferError("the receiver did not answer the manifest", "protocol")
            try:
                info = parse_resume(resume.json(), manifest)
            except (ResumeError, fr.FrameError) as exc:
                raise TransferError(f"bad resume data from the receiver: {exc}", "protocol") from None
            fin = self._fin = asyncio.get_running_loop().create_future()
            reader = asyncio.ensure_future(self._acks(frames, fin, stream))
            meter = Meter(manifest.total_size)
            for index, entry in manifest.files:
                if index in info.done:
                    meter.skip(entry.size)
                    self._file_done(index, info.done[index], 0, entry.size, stream.lane)
                    continue
                await self._send_file(index, info, stream, meter, fin)
            await stream.write(fr.encode(fr.DONE))
            await fin
            close_later(stream)
            result.moved = meter.moved
            result.total = manifest.total_size
            result.seconds = time.monotonic() - started
            return result
        except BaseException as exc:
            reason = self._peer_failure()
            if reason is not None:  # the receiver said why: that, not the broken stream
                stream.abort()
                raise reason from None
            await fail(stream, exc, error_frame(exc))
            raise
        finally:
            if reader is not None:
                reader.cancel()

    def _peer_failure(self) -> BaseException | None:
        fin = self._fin
        if fin is None or not fin.done() or fin.cancelled():
            return None
        error = fin.exception()
        return error if isinstance(error, TransferError) else None

    async def _send_file(self, index: int, info: ResumeInfo, stream: ByteStream, meter: Meter,
                         fin: asyncio.Future[None]) -> None:
        entry = self.scan.manifest.entries[index]
        source = str(self.scan.sources[index])
        f = await asyncio.to_thread(_open_source, source, entry.size)
        try:
            have = info.have.get(index)
            offset = 0
            hasher: Any = hashlib.sha256()
            if have is not None and have.offset:
                hasher = await asyncio.to_thread(_hash_prefix, f, have.offset)
                offset = start_offset(have, hasher.hexdigest())
                if offset == 0:  # the receiver's bytes are not ours: start over
                    await asyncio.to_thread(f.seek, 0)
                    hasher = hashlib.sha256()
            meter.skip(offset)
            await stream.write(fr.encode_file(index, offset, entry.size - offset))
            left = entry.size - offset
            moved = 0
            source_reader = await asyncio.to_thread(_Source, f, hasher, offset, entry.size)
            paced = time.monotonic()
            while left:
                if fin.done():  # the receiver gave up (an ERROR frame): stop at once
                    fin.result()
                data = await asyncio.to_thread(source_reader.read, min(CHUNK, left))
                if not data:
                    raise TransferError(f"{source} shrank while it was being sent", "source")
                await stream.write(data)
                left -= len(data)
                moved += len(data)
                meter.add(len(data))
                if meter.due():
                    self.emit("file-progress", id=self.offer.id, direction="send", name=self.name,
                              path=entry.path, bytes=offset + moved, size=entry.size,
                              lane=stream.lane, **meter.fields())
                if self.limit_rate:
                    paced += len(data) / self.limit_rate
                    delay = paced - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
            digest = hasher.hexdigest()
            self._sent[index] = (digest, moved, offset)
            await stream.write(fr.encode_end(index, bytes.fromhex(digest)))
        finally:
            await asyncio.to_thread(f.close)

    async def _acks(self, frames: _Frames, fin: asyncio.Future[None], stream: ByteStream) -> None:
        lane = stream.lane
        try:
            while True:
                frame = await frames.next()
                if frame.type == fr.ACK:
                    index = frame.ack()
                    if index not in self._sent:
                        raise TransferError("the receiver acknowledged a file never sent", "protocol")
                    digest, moved, offset = self._sent.pop(index)
                    self._file_done(index, digest, moved, offset, lane)
                elif frame.type == fr.FIN:
                    if self._sent:
                        raise TransferError("the receiver finished with files unacknowledged",
                                            "protocol")
                    fin.set_result(None)
                    return
                elif frame.type == fr.ERROR:
                    raise peer_error(frame, "receiver")
                else:
                    raise TransferError(f"unexpected {frame.name} from the receiver", "protocol")
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            if not fin.done():
                fin.set_exception(exc)
            stream.abort()  # unblocks a write waiting for room the receiver will never give

    def _file_done(self, index: int, digest: str, moved: int, offset: int, lane: str) -> None:
        entry = self.scan.manifest.entries[index]
        source = str(self.scan.sources[index])
        assert self._result is not None
        self._result.files.append(FileResult(entry.path, entry.size, digest, source, moved))
        if entry.size >= (1 << 20):
            self.emit("file-progress", id=self.offer.id, direction="send", name=self.name,
                      path=entry.path, bytes=entry.size, size=entry.size, lane=lane)
        self.emit("file-done", id=self.offer.id, direction="send", name=self.name, path=entry.path,
                  size=entry.size, sha256=digest, source=source, moved=moved, resumed_from=offset)


class _Frames:
    """Frames from the stream, one at a time (raw data never flows this way)."""

    def __init__(self, stream: ByteStream, decoder: fr.FrameDecoder,
                 early: list[fr.Frame | fr.Data]) -> None:
        self._stream = stream
        self._decoder = decoder
        self._queue = list(early)

    async def next(self) -> fr.Frame:
        while not self._queue:
            chunk = await self._stream.read()
            if not chunk:
                raise StreamClosed("the receiver closed the transfer stream early")
            try:
                self._queue.extend(self._decoder.feed(chunk))
            except fr.FrameError as exc:
                raise TransferError(f"bad data from the receiver: {exc}", "protocol") from None
        event = self._queue.pop(0)
        if not isinstance(event, fr.Data):
            return event
        raise TransferError("the receiver sent raw data", "protocol")
