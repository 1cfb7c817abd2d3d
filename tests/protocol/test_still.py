"""Stills in chunks: what the host sends comes back whole; whatever else arrives is a StillError."""

import io
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.protocol import still


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * (3 * width) for _ in range(height))
    return (still.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@given(st.binary(max_size=3 * still.CHUNK))
def test_chunks_reassemble(tail):
    png = tiny_png() + tail  # trailing bytes after IEND do not matter to the assembler
    assembler = still.Assembler(7)
    replies = still.chunks(7, png)
    results = [assembler.feed(r) for r in replies]
    assert results[:-1] == [None] * (len(replies) - 1)
    assert results[-1] == png
    assert still.png_size(png) == (3, 2)


def test_a_real_png_from_pillow():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (1920, 1080)).save(out, format="PNG", compress_level=1)
    png = out.getvalue()
    assembler = still.Assembler(1)
    assert [assembler.feed(r) for r in still.chunks(1, png)][-1] == png
    assert still.png_size(png) == (1920, 1080)


def test_the_hosts_refusal_and_foreign_ids():
    assembler = still.Assembler(2)
    assert assembler.feed(still.chunks(1, tiny_png())[0]) is None  # an older request's answer
    assert assembler.feed({"t": "still", "id": True, "error": "x"}) is None
    with pytest.raises(still.StillError, match="no display"):
        assembler.feed(still.error(2, "no display\x1b[31m"))


def test_not_a_png_is_refused():
    assembler = still.Assembler(1)
    with pytest.raises(still.StillError, match="not a PNG"):
        assembler.feed(still.chunks(1, b"<html>hello</html>")[0])
    with pytest.raises(still.StillError, match="implausible"):
        still.png_size(tiny_png(0, 5))


values = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=20),
                   st.binary(max_size=20).map(lambda b: __import__("base64").b64encode(b).decode()))


@given(st.lists(st.dictionaries(st.sampled_from(["id", "seq", "of", "data", "error", "t"]), values),
                max_size=6))
def test_hostile_replies_only_ever_raise_still_error(messages):
    assembler = still.Assembler(1)
    for msg in messages:
        try:
            result = assembler.feed(msg)
        except still.StillError:
            return
        assert result is None or result.startswith(still.PNG_SIGNATURE)


def test_request_ids():
    assert still.request_id(still.request(5)) == 5
    for bad in ({"id": True}, {"id": -1}, {"id": "5"}, {}, {"id": 2**40}):
        assert still.request_id(bad) is None
