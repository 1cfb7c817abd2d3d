"""Framing of the bulk byte stream (TLS fast lane or data channel): sans-I/O.

Every frame is a 1-byte type and a 4-byte big-endian body length, then the body.
A FILE frame announces (index, offset, length) and is followed by exactly `length` raw
bytes of file content, which the decoder hands out as memoryview slices (no copies).

The conversation, receiver R and sender S:
    R->S HELLO {"offer": id}         which offer this stream belongs to
    S->R MANIFEST {...}              the full list of entries
    R->S RESUME {"have":..,"done":..} what R already holds from an earlier run
    S->R FILE idx off len, <bytes>, END idx sha256     for every file still needed
    R->S ACK idx                     verified and in place
    S->R DONE;  R->S FIN             everything is there
    either way: ERROR {"kind","message"} then the stream is closed.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from rassist.protocol.jsonwire import loads

HELLO = 1
MANIFEST = 2
RESUME = 3
FILE = 4
END = 5
ACK = 6
DONE = 7
FIN = 8
ERROR = 9
_KNOWN = {HELLO, MANIFEST, RESUME, FILE, END, ACK, DONE, FIN, ERROR}
_NAMES = {
    HELLO: "HELLO", MANIFEST: "MANIFEST", RESUME: "RESUME", FILE: "FILE", END: "END",
    ACK: "ACK", DONE: "DONE", FIN: "FIN", ERROR: "ERROR",
}

_HEADER = struct.Struct("!BI")
_FILE = struct.Struct("!IQQ")
_END = struct.Struct("!I32s")
_ACK = struct.Struct("!I")
MAX_BODY = 256 << 20  # a manifest of a million entries fits; anything bigger is hostile


SMALL_BODY = 64 * 1024  # every frame but MANIFEST and RESUME


def manifest_limit(entries: int) -> int:
    """The largest MANIFEST an offer of this many entries can need: a peer that announced a
    few files cannot make us parse hundreds of megabytes before the mismatch shows."""
    return min(MAX_BODY, 1024 + entries * 8256)  # a 4000-byte name, escaped, and numbers


def resume_limit(files: int) -> int:
    return min(MAX_BODY, 1024 + files * 160)


class FrameError(ValueError):
    """The peer broke the stream framing."""


@dataclass(frozen=True)
class Frame:
    type: int
    body: bytes

    @property
    def name(self) -> str:
        return _NAMES.get(self.type, str(self.type))

    def json(self) -> dict[str, Any]:
        try:
            obj = loads(self.body)
        except ValueError as exc:
            raise FrameError(f"{self.name} body is not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise FrameError(f"{self.name} body must be a JSON object")
        return obj

    def file_header(self) -> tuple[int, int, int]:
        return _unpack(_FILE, self)

    def end(self) -> tuple[int, bytes]:
        return _unpack(_END, self)

    def ack(self) -> int:
        return _unpack(_ACK, self)[0]


@dataclass(frozen=True)
class Data:
    """A slice of raw file content following a FILE frame."""

    data: memoryview


def _unpack(layout: struct.Struct, frame: Frame) -> Any:
    if len(frame.body) != layout.size:
        raise FrameError(f"{frame.name} body must be {layout.size} bytes")
    return layout.unpack(frame.body)


def encode(frame_type: int, body: bytes = b"") -> bytes:
    return _HEADER.pack(frame_type, len(body)) + body


def encode_json(frame_type: int, obj: dict[str, Any]) -> bytes:
    return encode(frame_type, json.dumps(obj, separators=(",", ":")).encode())


def encode_file(index: int, offset: int, length: int) -> bytes:
    return encode(FILE, _FILE.pack(index, offset, length))


def encode_end(index: int, digest: bytes) -> bytes:
    return encode(END, _END.pack(index, digest))


def encode_ack(index: int) -> bytes:
    return encode(ACK, _ACK.pack(index))


def encode_error(kind: str, message: str) -> bytes:
    return encode_json(ERROR, {"kind": kind, "message": message[:2000]})


class FrameDecoder:
    """Feed bytes in, get Frames and Data slices out.

    Data slices point into the buffer passed to feed(): use them before the next feed().
    """

    def __init__(self, max_body: int = MAX_BODY) -> None:
        self.max_body = max_body
        self._pending = bytearray()  # an incomplete header or body
        self._need_body: int | None = None  # body length once the header is in
        self._type = 0
        self._raw_left = 0

    @property
    def in_raw(self) -> bool:
        return self._raw_left > 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame | Data]:
        view = memoryview(data).cast("B")
        out: list[Frame | Data] = []
        pos = 0
        while pos < len(view):
            if self._raw_left:
                take = min(self._raw_left, len(view) - pos)
                out.append(Data(view[pos : pos + take]))
                self._raw_left -= take
                pos += take
                continue
            if self._need_body is None:
                take = min(_HEADER.size - len(self._pending), len(view) - pos)
                self._pending += view[pos : pos + take]
                pos += take
                if len(self._pending) < _HEADER.size:
                    break
                self._type, length = _HEADER.unpack(self._pending)
                self._pending.clear()
                if self._type not in _KNOWN:
                    raise FrameError(f"unknown frame type {self._type}")
                if length > self.max_body:
                    raise FrameError(f"frame of {length} bytes is too large")
                self._need_body = length
            take = min(self._need_body - len(self._pending), len(view) - pos)
            self._pending += view[pos : pos + take]
            pos += take
            if len(self._pending) < self._need_body:
                break
            frame = Frame(self._type, bytes(self._pending))
            self._pending.clear()
            self._need_body = None
            out.append(frame)
            if frame.type == FILE:
                self._raw_left = frame.file_header()[2]
        return out
