"""Receiving one accepted offer over a ByteStream: manifest, resume, bytes, verification.

Every frame from the sender is checked against the manifest, and the manifest against the
offer the user accepted (count and total size were shown before anything was written).
A file is reported done only after its SHA-256 matched and it sits under its final name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rassist.errors import RassistError
from rassist.protocol import transfer_frames as fr
from rassist.protocol.transfer import Offer
from rassist.protocol.transfer_manifest import Manifest, ManifestError, decode_manifest
from rassist.session import Emit
from rassist.transfer.partwriter import PartWriter
from rassist.transfer.progress import Meter
from rassist.transfer.staging import Staging, TransferError, disk_error
from rassist.transfer.stream import ByteStream, StreamClosed, close_later, fail

PEER_KINDS = {"disk-full", "disk", "integrity", "unsafe-name", "protocol", "source", "cancelled"}


@dataclass
class FileResult:
    path: str  # as sent
    size: int
    sha256: str
    local: str  # where it is now (receiver) or where it was read (sender)
    moved: int  # bytes of it that travelled in this run


@dataclass
class TransferResult:
    offer_id: str
    direction: str
    lane: str
    files: list[FileResult] = field(default_factory=list)
    moved: int = 0
    total: int = 0
    seconds: float = 0.0


def peer_error(frame: fr.Frame, who: str) -> TransferError:
    try:
        body = frame.json()
    except fr.FrameError:
        body = {}
    kind = body.get("kind") if body.get("kind") in PEER_KINDS else "transfer"
    message = str(body.get("message", "no reason given"))[:500]
    message = "".join(ch if ch.isprintable() else " " for ch in message)
    return TransferError(f"the {who} stopped the transfer: {message}", kind)


def error_frame(exc: BaseException) -> bytes:
    if isinstance(exc, RassistError):
        return fr.encode_error(exc.kind, exc.message)
    return fr.encode_error("transfer", f"{type(exc).__name__}: {exc}")


class Receiver:
    def __init__(self, offer: Offer, target: Path, emit: Emit, overwrite: bool = False,
                 name: str = "") -> None:
        self.offer = offer
        self.target = target
        self.emit = emit
        self.overwrite = overwrite
        self.name = name or ", ".join(offer.names)
        self.staging: Staging | None = None
        self.manifest: Manifest | None = None

    async def run(self, stream: ByteStream) -> TransferResult:
        try:
            return await self._run(stream)
        except BaseException as exc:
            await fail(stream, exc, error_frame(exc))
            raise
        finally:
            if self.staging is not None:
                self.staging.close()  # no await: the outcome must not wait behind the loop

    async def _frames(self, stream: ByteStream, decoder: fr.FrameDecoder) -> list[fr.Frame | fr.Data]:
        while True:
            chunk = await stream.read()
            if not chunk:
                raise StreamClosed("the sender closed the transfer stream early")
            try:
                events = decoder.feed(chunk)
            except fr.FrameError as exc:
                raise TransferError(f"bad data from the sender: {exc}", "protocol") from None
            if events:
                return events

    async def _run(self, stream: ByteStream) -> TransferResult:
        started = time.monotonic()
        offer = self.offer
        result = TransferResult(offer.id, "receive", stream.lane)
        await stream.write(fr.encode_json(fr.HELLO, {"offer": offer.id}))
        decoder = fr.FrameDecoder(fr.manifest_limit(offer.files + offer.dirs))
        events = await self._frames(stream, decoder)
        decoder.max_body = fr.SMALL_BODY
        first = events.pop(0)
        if isinstance(first, fr.Frame) and first.type == fr.ERROR:
            raise peer_error(first, "sender")
        if not isinstance(first, fr.Frame) or first.type != fr.MANIFEST:
            raise TransferError("the sender did not start with a manifest", "protocol")
        try:
            manifest = decode_manifest(first.body)
        except ManifestError as exc:
            raise TransferError(f"refused the sender's file list: {exc}", "unsafe-name") from None
        if not offer.matches(manifest):
            raise TransferError("the file list differs from what was offered", "protocol")
        self.manifest = manifest
        staging = self.staging = Staging(self.target, manifest, self.overwrite)
        await asyncio.to_thread(staging.open)
        info = await asyncio.to_thread(staging.resume_info)
        await asyncio.to_thread(staging.check_space, info)
        await stream.write(fr.encode_json(fr.RESUME, info.to_json()))
        meter = Meter(manifest.total_size)
        for index, digest in info.done.items():
            entry = manifest.entries[index]
            meter.skip(entry.size)
            local = str(staging.final_path(entry))
            result.files.append(FileResult(entry.path, entry.size, digest, local, 0))
        pending = {i for i, _ in manifest.files} - info.done.keys()
        writer: PartWriter | None = None
        try:
            while True:
                for event in events:
                    if isinstance(event, fr.Data):
                        if writer is None:
                            raise TransferError("file data outside a file", "protocol")
                        try:
                            await writer.write(event.data)
                        except OSError as exc:
                            entry = manifest.entries[writer.index]
                            raise disk_error(exc, entry.path) from None
                        meter.add(len(event.data))
                        if meter.due():
                            self._progress(writer, meter, stream.lane)
                        continue
                    kind = event.type
                    if kind == fr.FILE:
                        if writer is not None:
                            raise TransferError("a file started inside another", "protocol")
                        writer = await self._start_file(event, pending, info, meter)
                    elif kind == fr.END:
                        if writer is None or writer.left:
                            raise TransferError("a file ended early", "protocol")
                        await self._end_file(event, writer, stream, result, meter)
                        pending.discard(writer.index)
                        writer = None
                    elif kind == fr.DONE:
                        if writer is not None or pending:
                            raise TransferError("the sender finished with files missing", "protocol")
                        await asyncio.to_thread(staging.finish_dirs)
                        await stream.write(fr.encode(fr.FIN))
                        staging.remove()  # a few small files: no await between FIN and done
                        close_later(stream)
                        result.moved = meter.moved
                        result.total = manifest.total_size
                        result.seconds = time.monotonic() - started
                        return result
                    elif kind == fr.ERROR:
                        raise peer_error(event, "sender")
                    else:
                        raise TransferError(f"unexpected {event.name} from the sender", "protocol")
                events = await self._frames(stream, decoder)
        finally:
            if writer is not None:
                with contextlib.suppress(OSError):  # already failing: keep the first error
                    await writer.close()

    async def _start_file(self, frame: fr.Frame, pending: set[int], info: Any,
                          meter: Meter) -> PartWriter:
        assert self.manifest is not None and self.staging is not None
        index, offset, length = frame.file_header()
        if index not in pending:
            raise TransferError(f"file {index} is not expected", "protocol")
        entry = self.manifest.entries[index]
        have = info.have.get(index)
        if offset not in (0, have.offset if have else 0) or offset + length != entry.size:
            raise TransferError(f"file {index} does not continue where it stopped", "protocol")
        if offset:
            meter.skip(offset)
        file, hasher = await asyncio.to_thread(self.staging.open_part, index, offset)
        return PartWriter(index, file, hasher, length, offset)

    async def _end_file(self, frame: fr.Frame, writer: PartWriter, stream: ByteStream,
                        result: TransferResult, meter: Meter) -> None:
        assert self.manifest is not None and self.staging is not None
        index, digest = frame.end()
        if index != writer.index:
            raise TransferError("a file ended that was not being sent", "protocol")
        try:
            await writer.finish()
        except OSError as exc:
            raise disk_error(exc, self.manifest.entries[index].path) from None
        await writer.close()
        entry = self.manifest.entries[index]
        mine = writer.hasher.digest()
        if not hmac.compare_digest(mine, digest):
            # Never claimed done; and the next run starts this file from scratch.
            await asyncio.to_thread(self.staging.discard_part, index)
            raise TransferError(
                f"{entry.path}: SHA-256 mismatch (got {mine.hex()[:16]}..., the sender's is "
                f"{digest.hex()[:16]}...); the file was not kept", "integrity")
        local = await asyncio.to_thread(self.staging.place, index, mine.hex())
        await stream.write(fr.encode_ack(index))
        result.files.append(FileResult(entry.path, entry.size, mine.hex(), str(local), writer.written))
        self._progress(writer, meter, stream.lane, final=True)
        self.emit("file-done", id=self.offer.id, direction="receive", name=self.name, path=entry.path,
                  size=entry.size, sha256=mine.hex(), saved_to=str(local), moved=writer.written,
                  resumed_from=writer.offset)

    def _progress(self, writer: PartWriter, meter: Meter, lane: str, final: bool = False) -> None:
        assert self.manifest is not None
        entry = self.manifest.entries[writer.index]
        if final and entry.size < (1 << 20):
            return  # small files: their file-done says it all
        self.emit("file-progress", id=self.offer.id, direction="receive", name=self.name,
                  path=entry.path, bytes=writer.offset + writer.written, size=entry.size,
                  lane=lane, **meter.fields())
