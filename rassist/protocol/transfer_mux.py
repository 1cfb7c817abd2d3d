"""Several transfer streams over the one "bulk" data channel (the fallback lane): sans-I/O.

Each binary message is an 8-byte stream id (the offer id), a 1-byte kind and a payload:
    DATA    stream bytes
    CREDIT  4-byte count: the reader consumed that many more bytes, send on
    EOF     the writer has finished
    RESET   the writer gave up (payload: a UTF-8 reason)
Credits keep both sides' memory bounded: aiortc hands every message to us as it arrives,
so the receiver's only brake is not to grant more than it has room for.
"""

from __future__ import annotations

import struct

DATA = 0
CREDIT = 1
EOF = 2
RESET = 3
SID_BYTES = 8
HEADER_BYTES = SID_BYTES + 1
_CREDIT = struct.Struct("!I")


class MuxError(ValueError):
    """A bulk-channel message that does not parse."""


def stream_id(offer_id: str) -> bytes:
    sid = bytes.fromhex(offer_id)
    if len(sid) != SID_BYTES:
        raise MuxError("a stream id is 8 bytes")
    return sid


def encode(sid: bytes, kind: int, payload: bytes | memoryview = b"") -> bytes:
    return b"".join((sid, bytes((kind,)), payload))


def encode_credit(sid: bytes, amount: int) -> bytes:
    return encode(sid, CREDIT, _CREDIT.pack(amount))


def decode(message: bytes | str) -> tuple[bytes, int, memoryview]:
    if not isinstance(message, bytes) or len(message) < HEADER_BYTES:
        raise MuxError("a bulk message is binary with a 9-byte header")
    kind = message[SID_BYTES]
    if kind not in (DATA, CREDIT, EOF, RESET):
        raise MuxError(f"unknown bulk message kind {kind}")
    payload = memoryview(message)[HEADER_BYTES:]
    if kind == CREDIT and len(payload) != _CREDIT.size:
        raise MuxError("a credit is 4 bytes")
    return message[:SID_BYTES], kind, payload


def credit_amount(payload: memoryview) -> int:
    return _CREDIT.unpack(payload)[0]
