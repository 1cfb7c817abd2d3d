"""The shared terminal's text for the ticket: kept once settled, only rows not kept just before."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rassist.records.termtext import MAX_TEXT, TerminalText


def test_a_screen_is_kept_once_it_settles_and_then_only_its_new_rows():
    t = TerminalText()
    assert t.offer(["$ make", "building"]) is None  # first sight: maybe still printing
    assert t.offer(["$ make", "building"]) == "$ make\nbuilding"
    assert t.offer(["$ make", "building"]) is None  # the same screen again: nothing new
    assert t.offer(["$ make", "building", "error: no space left"]) is None
    assert t.offer(["$ make", "building", "error: no space left"]) == "error: no space left"
    assert t.offer(["", "  ", ""]) is None and t.offer(["", "  ", ""]) is None  # a blank screen


rows = st.text(st.characters(blacklist_characters="\n\r"), max_size=40)  # an emulator row has no newline
screens = st.lists(st.lists(rows, max_size=30), max_size=12)


@given(screens)
def test_whatever_comes_only_settled_rows_are_kept_and_never_the_same_screen_twice(samples):
    t = TerminalText()
    previous = None
    kept_screens = []
    for lines in samples:
        text = t.offer(lines)
        screen = [line.rstrip() for line in lines]
        if text is not None:
            assert screen == previous  # settled
            assert len(text) <= MAX_TEXT
            assert all(row in screen for row in text[:MAX_TEXT].split("\n")[:-1])
            assert not kept_screens or kept_screens[-1] != screen
            kept_screens.append(screen)
        previous = screen
