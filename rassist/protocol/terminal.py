"""Framing of a shared terminal on the "term" data channel: sans-I/O.

Every message is one binary frame: a 1-byte type, then a fixed header, then the payload.
    host -> joiner  OUTPUT   offset:u64, bytes          the shell's output from stream offset `offset`
    host -> joiner  SCREEN   offset:u64 cols:u16 rows:u16, bytes
                             a repaint of the whole screen as it was at `offset` (late joiners,
                             and viewers that fell behind and skipped output)
    host -> joiner  SIZE     cols:u16 rows:u16          the shell's size (the host's is authoritative)
    host -> joiner  EXIT     status:i32                 the shell ended with this status
    joiner -> host  INPUT    bytes                      keys for the shell (needs the control permission)
    joiner -> host  RESIZE   cols:u16 rows:u16          asks for a size (needs control; the host may refuse)
Offsets count bytes of the shell's output since it started, so a viewer sees where it skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

OUTPUT = 1
SCREEN = 2
SIZE = 3
EXIT = 4
INPUT = 5
RESIZE = 6

MAX_OUTPUT = 64 * 1024   # payload of one OUTPUT frame; the host sends less
MAX_SCREEN = 1 << 20     # a repaint of 500x200 cells with colours fits
MAX_INPUT = 4096         # a paste goes in several frames
MIN_DIM, MAX_COLS, MAX_ROWS = 2, 1000, 500

_OFFSET = struct.Struct("!Q")
_SCREEN = struct.Struct("!QHH")
_DIMS = struct.Struct("!HH")
_STATUS = struct.Struct("!i")


class TermFrameError(ValueError):
    """The peer sent a frame that is not a valid terminal frame."""


@dataclass(frozen=True)
class Output:
    offset: int
    data: bytes


@dataclass(frozen=True)
class Screen:
    offset: int
    cols: int
    rows: int
    data: bytes


@dataclass(frozen=True)
class Size:
    cols: int
    rows: int


@dataclass(frozen=True)
class Exit:
    status: int


@dataclass(frozen=True)
class Input:
    data: bytes


@dataclass(frozen=True)
class Resize:
    cols: int
    rows: int


Frame = Output | Screen | Size | Exit | Input | Resize


def check_size(cols: int, rows: int) -> None:
    if not (MIN_DIM <= cols <= MAX_COLS and MIN_DIM <= rows <= MAX_ROWS):
        raise TermFrameError(f"terminal size {cols}x{rows} is outside {MIN_DIM}..{MAX_COLS} columns "
                             f"and {MIN_DIM}..{MAX_ROWS} rows")


def encode(frame: Frame) -> bytes:
    if isinstance(frame, Output):
        return bytes([OUTPUT]) + _OFFSET.pack(frame.offset) + frame.data
    if isinstance(frame, Screen):
        return bytes([SCREEN]) + _SCREEN.pack(frame.offset, frame.cols, frame.rows) + frame.data
    if isinstance(frame, Size):
        return bytes([SIZE]) + _DIMS.pack(frame.cols, frame.rows)
    if isinstance(frame, Resize):
        return bytes([RESIZE]) + _DIMS.pack(frame.cols, frame.rows)
    if isinstance(frame, Exit):
        return bytes([EXIT]) + _STATUS.pack(frame.status)
    if isinstance(frame, Input):
        return bytes([INPUT]) + frame.data
    raise TypeError(f"not a terminal frame: {frame!r}")


def decode(data: Any) -> Frame:
    """One frame from the peer; raises TermFrameError for anything malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TermFrameError("terminal frames are binary")
    data = bytes(data)
    if not data:
        raise TermFrameError("empty frame")
    kind, body = data[0], data[1:]
    if kind == OUTPUT:
        _need(body, _OFFSET.size, "OUTPUT")
        payload = body[_OFFSET.size:]
        if len(payload) > MAX_OUTPUT:
            raise TermFrameError(f"OUTPUT of {len(payload)} bytes is over {MAX_OUTPUT}")
        return Output(_OFFSET.unpack_from(body)[0], payload)
    if kind == SCREEN:
        _need(body, _SCREEN.size, "SCREEN")
        offset, cols, rows = _SCREEN.unpack_from(body)
        check_size(cols, rows)
        payload = body[_SCREEN.size:]
        if len(payload) > MAX_SCREEN:
            raise TermFrameError(f"SCREEN of {len(payload)} bytes is over {MAX_SCREEN}")
        return Screen(offset, cols, rows, payload)
    if kind in (SIZE, RESIZE):
        if len(body) != _DIMS.size:
            raise TermFrameError("a size frame is exactly two 16-bit numbers")
        cols, rows = _DIMS.unpack(body)
        check_size(cols, rows)
        return Size(cols, rows) if kind == SIZE else Resize(cols, rows)
    if kind == EXIT:
        if len(body) != _STATUS.size:
            raise TermFrameError("EXIT is exactly one 32-bit status")
        return Exit(_STATUS.unpack(body)[0])
    if kind == INPUT:
        if not body or len(body) > MAX_INPUT:
            raise TermFrameError(f"INPUT must carry 1..{MAX_INPUT} bytes")
        return Input(body)
    raise TermFrameError(f"unknown terminal frame type {kind}")


def _need(body: bytes, size: int, name: str) -> None:
    if len(body) < size:
        raise TermFrameError(f"{name} header is truncated")


# ---------------------------------------------------------------- stdin commands

def input_frames(text: Any) -> list[Input]:
    """{"term-input": "uptime\\n"} as INPUT frames (a long paste is split)."""
    if not isinstance(text, str) or not text:
        raise ValueError('term-input takes a non-empty string, as in {"term-input": "uptime\\n"}')
    data = text.encode("utf-8", "surrogateescape")
    return [Input(data[i:i + MAX_INPUT]) for i in range(0, len(data), MAX_INPUT)]


def resize_command(value: Any) -> Resize:
    """{"term-resize": [cols, rows]}."""
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ValueError('term-resize takes [columns, rows], as in {"term-resize": [120, 40]}')
    try:
        check_size(value[0], value[1])
    except TermFrameError as exc:
        raise ValueError(str(exc)) from None
    return Resize(value[0], value[1])
