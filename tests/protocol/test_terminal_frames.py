"""Terminal frames: round trips, and the decoder never raises anything but TermFrameError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.protocol import terminal as wire

dims = st.tuples(st.integers(wire.MIN_DIM, wire.MAX_COLS), st.integers(wire.MIN_DIM, wire.MAX_ROWS))
frames = st.one_of(
    st.builds(wire.Output, st.integers(0, 2**64 - 1), st.binary(max_size=wire.MAX_OUTPUT)),
    st.builds(lambda o, d, p: wire.Screen(o, d[0], d[1], p), st.integers(0, 2**64 - 1), dims, st.binary(max_size=2000)),
    st.builds(lambda d: wire.Size(*d), dims),
    st.builds(lambda d: wire.Resize(*d), dims),
    st.builds(wire.Exit, st.integers(-2**31, 2**31 - 1)),
    st.builds(wire.Input, st.binary(min_size=1, max_size=wire.MAX_INPUT)),
)


@given(frames)
def test_every_frame_round_trips(frame):
    assert wire.decode(wire.encode(frame)) == frame


@given(st.binary(max_size=300))
def test_hostile_bytes_are_a_frame_or_a_frame_error(data):
    try:
        frame = wire.decode(data)
    except wire.TermFrameError:
        return
    assert wire.decode(wire.encode(frame)) == frame  # whatever passes is well-formed


@pytest.mark.parametrize("data", [
    b"", "text", bytes([wire.OUTPUT]) + b"\0" * 7, bytes([wire.SIZE]) + b"\0\x50\0\x18\0",
    bytes([wire.SIZE]) + b"\0\x01\0\x18", bytes([wire.RESIZE]) + b"\xff\xff\0\x18", bytes([wire.INPUT]),
    bytes([wire.INPUT]) + b"x" * (wire.MAX_INPUT + 1), bytes([wire.EXIT]) + b"\0\0\0",
    bytes([wire.OUTPUT]) + b"\0" * 8 + b"x" * (wire.MAX_OUTPUT + 1), bytes([99]) + b"\0" * 8,
])
def test_malformed_frames_are_refused(data):
    with pytest.raises(wire.TermFrameError):
        wire.decode(data)


def test_commands_are_checked():
    assert wire.resize_command([120, 40]) == wire.Resize(120, 40)
    for bad in ([120], [True, 40], ["120", 40], [1, 40], [120, 10_000], "120x40", None):
        with pytest.raises(ValueError):
            wire.resize_command(bad)
    frames = wire.input_frames("é" * wire.MAX_INPUT)
    assert b"".join(f.data for f in frames) == ("é" * wire.MAX_INPUT).encode()
    assert all(len(f.data) <= wire.MAX_INPUT for f in frames)
    for bad in ("", None, 5, ["ls"]):
        with pytest.raises(ValueError):
            wire.input_frames(bad)
