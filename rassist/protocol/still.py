"""A still of the host's screen on request: one lossless PNG in numbered chunks over ctl.

`rassist snapshot` wants a sharp picture at once; the video stream starts blurry and sharpens
over a few seconds. So the joiner asks ({"t": "still-request", "id": N}) and the host grabs its
screen and answers {"t": "still", "id": N, "seq": i, "of": n, "data": base64} for i in 0..n-1,
or {"t": "still", "id": N, "error": "why"}. The joiner checks every chunk: the host is trusted
to show its screen, not to make us use unbounded memory or write something that is no PNG."""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

REQUEST = "still-request"
REPLY = "still"
CHUNK = 32 * 1024  # raw bytes per message: well inside a data-channel message
MAX_BYTES = 64 << 20
MAX_CHUNKS = MAX_BYTES // CHUNK
MAX_SIDE = 16384
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class StillError(ValueError):
    """A reply that breaks the rules, or the host's own refusal (no display...)."""


def request(still_id: int) -> dict[str, Any]:
    return {"t": REQUEST, "id": still_id}


def error(still_id: int, message: str) -> dict[str, Any]:
    return {"t": REPLY, "id": still_id, "error": message[:300]}


def chunks(still_id: int, png: bytes) -> list[dict[str, Any]]:
    if len(png) > MAX_BYTES:
        raise StillError(f"the picture is larger than {MAX_BYTES >> 20} MiB")
    count = max(1, -(-len(png) // CHUNK))
    return [{"t": REPLY, "id": still_id, "seq": i, "of": count,
             "data": base64.b64encode(png[i * CHUNK:(i + 1) * CHUNK]).decode("ascii")}
            for i in range(count)]


def request_id(msg: dict[str, Any]) -> int | None:
    """The id of a well-formed request, else None."""
    value = msg.get("id")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
        return value
    return None


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG header; raises StillError if it is no sane PNG."""
    if len(png) < 33 or not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise StillError("the host's picture is not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise StillError(f"the host's picture has an implausible size {width}x{height}")
    return width, height


class Assembler:
    """Collects the chunks of one still; feed() returns the PNG once it is complete."""

    def __init__(self, still_id: int) -> None:
        self.id = still_id
        self._parts: list[bytes] = []
        self._count: int | None = None

    def feed(self, msg: dict[str, Any]) -> bytes | None:
        if msg.get("id") != self.id or isinstance(msg.get("id"), bool):
            return None  # an answer to an earlier request: not ours any more
        if "error" in msg:
            text = str(msg["error"])[:300]
            raise StillError("".join(ch if ch.isprintable() else " " for ch in text))
        seq, count, data = msg.get("seq"), msg.get("of"), msg.get("data")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (seq, count)):
            raise StillError("a still chunk without its numbers")
        if not 0 < count <= MAX_CHUNKS or (self._count is not None and count != self._count):
            raise StillError("a still chunk with a bad count")
        if seq != len(self._parts) or not isinstance(data, str) or len(data) > 2 * CHUNK:
            raise StillError("a still chunk out of order or too large")
        try:
            part = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise StillError("a still chunk that is not base64") from None
        if len(part) > CHUNK:
            raise StillError("a still chunk too large")
        self._count = count
        self._parts.append(part)
        if len(self._parts) < count:
            return None
        png = b"".join(self._parts)
        png_size(png)
        return png
