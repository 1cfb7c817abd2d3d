"""The emulator: bounded work and memory for any output, and only our own escape sequences out."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.terminal.emulator import Emulator, safe_text
from rassist.terminal.keys import command_bytes

OUR_SEQUENCES = re.compile(rb"\x1b\[[0-9;]*[HJKmh]|\x1b\[\?25[hl]")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=400), max_size=8), st.integers(2, 60), st.integers(2, 20))
def test_any_output_repaints_with_only_our_sequences(chunks, cols, rows):
    emulator = Emulator(cols, rows, backlog=256)
    for chunk in chunks:
        emulator.feed(chunk)
    assert emulator.pending <= 2 * 256
    repaint = emulator.repaint()
    rest = OUR_SEQUENCES.sub(b"", repaint).decode("utf-8")
    assert all(ch.isprintable() or ch == "?" for ch in rest), rest
    again = Emulator(7, 3)  # a late joiner's emulator ends up with the same picture
    again.feed(b"old junk")
    again.reset(cols, rows, repaint)
    assert again.lines() == emulator.lines()
    # (a cursor waiting to wrap past the last column comes back on the last column)
    assert (again.screen.cursor.x, again.screen.cursor.y) == (min(emulator.screen.cursor.x, cols - 1),
                                                              emulator.screen.cursor.y)


def test_a_flood_is_cut_to_the_backlog_and_the_tail_is_drawn():
    emulator = Emulator(80, 24, backlog=64 * 1024)
    emulator.feed(b"\x1b[1;31m")  # a colour set long ago survives the cut
    for i in range(200_000):
        emulator.feed(b"line %d\r\n" % i)
        assert emulator.pending <= 128 * 1024
    lines = emulator.lines()
    assert lines[-2] == "line 199999" and emulator.skipped > 1_000_000
    assert emulator.screen.buffer[22][0].fg == "red" and emulator.screen.buffer[22][0].bold


def test_vim_style_alternate_screen_restores_the_shell():
    emulator = Emulator(20, 4)
    emulator.feed(b"$ vim\r\n\x1b[?1049h\x1b[H\x1b[2Jfull screen\x1b[?1049l$ ")
    assert emulator.lines()[:2] == ["$ vim", "$"]


def test_peer_text_cannot_smuggle_controls():
    assert safe_text("ok\x9b31m\u202e") == "ok?31m?"
    assert safe_text("e\u0301 中") == "e\u0301 中"


def test_tui_keys_become_terminal_bytes():
    assert command_bytes({"text": "ls"}) == b"ls"
    assert command_bytes({"key": "enter"}) == b"\r"
    assert command_bytes({"key": "ctrl+c"}) == b"\x03"
    assert command_bytes({"key": "ctrl+d"}) == b"\x04"
    assert command_bytes({"key": "esc"}) == b"\x1b"
    assert command_bytes({"key": "up"}) == b"\x1b[A"
    assert command_bytes({"key": "alt+b"}) == b"\x1bb"
    assert command_bytes({"key": "shift+tab"}) == b"\x1b[Z"
    assert command_bytes({"key": "nonsense"}) is None
    assert command_bytes({"scroll": [0, 1]}) is None
