import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.protocol import transfer_frames as fr


def conversation() -> tuple[bytes, bytes]:
    """A sender's side of a stream: manifest, two files (one empty), done; and the content."""
    content = bytes(range(256)) * 40
    stream = b"".join([
        fr.encode(fr.MANIFEST, b'{"v":1,"entries":[]}'),
        fr.encode_file(0, 0, len(content)), content, fr.encode_end(0, hashlib.sha256(content).digest()),
        fr.encode_file(1, 0, 0), fr.encode_end(1, hashlib.sha256(b"").digest()),
        fr.encode(fr.DONE),
    ])
    return stream, content


def decode_in_pieces(stream: bytes, cuts: list[int]) -> list[object]:
    decoder = fr.FrameDecoder()
    out: list[object] = []
    start = 0
    for cut in sorted(set(cuts)) + [len(stream)]:
        for event in decoder.feed(stream[start:cut]):
            out.append(bytes(event.data) if isinstance(event, fr.Data) else event)
        start = cut
    return out


def merge_data(events: list[object]) -> list[object]:
    merged: list[object] = []
    for event in events:
        if isinstance(event, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += event
        else:
            merged.append(event)
    return merged


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=10_400), max_size=40))
def test_any_split_of_the_stream_decodes_the_same(cuts):
    stream, content = conversation()
    cuts = [c for c in cuts if c <= len(stream)]
    events = merge_data(decode_in_pieces(stream, cuts))
    kinds = [e.type if isinstance(e, fr.Frame) else "data" for e in events]
    assert kinds == [fr.MANIFEST, fr.FILE, "data", fr.END, fr.FILE, fr.END, fr.DONE]
    assert events[2] == content
    assert events[1].file_header() == (0, 0, len(content))
    index, digest = events[3].end()
    assert index == 0 and digest == hashlib.sha256(content).digest()
    assert events[4].file_header() == (1, 0, 0)


def test_raw_data_that_looks_like_frames_stays_data():
    fake = fr.encode(fr.ERROR, b'{"kind":"x"}') * 3
    stream = fr.encode_file(7, 10, len(fake)) + fake + fr.encode_ack(7)
    events = fr.FrameDecoder().feed(stream)
    assert isinstance(events[1], fr.Data) and bytes(events[1].data) == fake
    assert events[2].type == fr.ACK and events[2].ack() == 7


def test_unknown_types_and_huge_bodies_are_refused():
    with pytest.raises(fr.FrameError, match="unknown"):
        fr.FrameDecoder().feed(b"\x63\x00\x00\x00\x00")
    with pytest.raises(fr.FrameError, match="too large"):
        fr.FrameDecoder(max_body=100).feed(fr.encode(fr.MANIFEST, b"x" * 101))
    with pytest.raises(fr.FrameError, match="too large"):
        fr.FrameDecoder().feed(b"\x02\xff\xff\xff\xff")


def test_fixed_size_bodies_are_checked():
    frame = fr.Frame(fr.FILE, b"\x00" * 5)
    with pytest.raises(fr.FrameError):
        frame.file_header()
    with pytest.raises(fr.FrameError):
        fr.Frame(fr.END, b"").end()
    with pytest.raises(fr.FrameError, match="JSON"):
        fr.Frame(fr.HELLO, b"{nope").json()
    with pytest.raises(fr.FrameError, match="object"):
        fr.Frame(fr.HELLO, b"[1]").json()


def test_error_frames_carry_kind_and_message():
    (frame,) = fr.FrameDecoder().feed(fr.encode_error("disk-full", "no space"))
    assert frame.type == fr.ERROR and frame.json() == {"kind": "disk-full", "message": "no space"}
