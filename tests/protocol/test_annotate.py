"""Annotation marks and the board, sans I/O: data in, shapes out."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.protocol.annotate import (
    FADE_SECONDS,
    MAX_LABEL,
    MAX_POINTS,
    MAX_STROKES,
    TRAIL_SECONDS,
    AnnotateError,
    Board,
    Clear,
    Dot,
    Label,
    Line,
    Point,
    Stroke,
    Text,
    decode,
    encode,
    parse_command,
)


def test_commands_become_marks() -> None:
    assert parse_command({"point": [0.25, 0.5]}) == Point((0.25, 0.5))
    assert parse_command({"draw": [[0, 0], [1, 1]], "color": "#FF3B30", "pin": True}) == \
        Stroke(((0.0, 0.0), (1.0, 1.0)), "#ff3b30", True)
    assert parse_command({"label": "this one", "at": [0.1, 0.9]}) == Label("this one", (0.1, 0.9))
    assert parse_command({"clear": True}) == Clear()


@pytest.mark.parametrize("cmd, words", [
    ({"point": [1.5, 0.5]}, "outside the screen"),
    ({"point": [0.5]}, "[x, y]"),
    ({"point": ["a", 0]}, "two numbers"),
    ({"point": [float("nan"), 0]}, "two numbers"),
    ({"point": [True, 0]}, "two numbers"),
    ({"draw": []}, "list of [x, y]"),
    ({"draw": [[0, 0]] * (MAX_POINTS + 1)}, f"at most {MAX_POINTS}"),
    ({"draw": [[0, 0]], "color": "red"}, "#ff3b30"),
    ({"draw": [[0, 0]], "pin": "yes"}, "pin"),
    ({"label": "", "at": [0, 0]}, "needs some text"),
    ({"label": "x" * (MAX_LABEL + 1), "at": [0, 0]}, f"at most {MAX_LABEL}"),
    ({"label": "x"}, "[x, y]"),
    ({"clear": "all"}, "clear takes true"),
])
def test_bad_commands_say_what_is_wrong(cmd: dict, words: str) -> None:
    with pytest.raises(AnnotateError, match=None) as info:
        parse_command(cmd)
    assert words in str(info.value)


def test_out_of_range_is_its_own_reason() -> None:
    with pytest.raises(AnnotateError) as info:
        parse_command({"point": [0.5, -0.1]})
    assert info.value.reason == "out-of-range"


@pytest.mark.parametrize("mark", [Point((0.1, 0.2)), Stroke(((0.0, 0.5), (0.5, 1.0)), "#00ff00", True),
                                  Label("hello", (0.3, 0.4), False), Clear()])
def test_wire_round_trip(mark: object) -> None:
    assert decode(encode(mark)) == mark  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=40)


RELAXED = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@RELAXED
@given(st.dictionaries(st.sampled_from(["t", "k", "p", "c", "pin", "text", "x"]), json_values, max_size=6))
def test_decoding_hostile_messages_raises_only_annotate_error(msg: dict) -> None:
    try:
        mark = decode(msg)
    except AnnotateError:
        return
    assert isinstance(mark, (Point, Stroke, Label, Clear))


@RELAXED
@given(st.fixed_dictionaries({"k": st.sampled_from(["point", "draw", "label"]),
                              "p": st.lists(st.lists(st.floats(), min_size=2, max_size=2), max_size=4)
                              | st.lists(st.floats(), min_size=2, max_size=2),
                              "text": st.text(max_size=200)}))
def test_decoded_points_are_always_on_screen(msg: dict) -> None:
    try:
        mark = decode(msg)
    except AnnotateError:
        return
    points = mark.points if isinstance(mark, Stroke) else (mark.at,)  # type: ignore[union-attr]
    assert all(0 <= v <= 1 for p in points for v in p)


def test_huge_messages_are_refused() -> None:
    with pytest.raises(AnnotateError, match="too large"):
        decode({"k": "label", "text": "x" * 30_000, "p": [0, 0]})


def board_with(*authors: str) -> Board:
    board = Board()
    for author in authors:
        board.join(author, f"{author}@box")
    return board


def test_a_pointer_trail_fades_within_its_time() -> None:
    board = board_with("a")
    board.add("a", Point((0.1, 0.1)), 0.0)
    board.add("a", Point((0.2, 0.2)), 0.5)
    shapes = board.scene(0.6)
    assert Dot((0.2, 0.2), board.colour_of("a"), "a@box") in shapes
    assert any(isinstance(s, Line) and len(s.points) == 2 for s in shapes)
    assert board.next_change(0.6) == TRAIL_SECONDS
    assert board.scene(TRAIL_SECONDS + 0.6) == []
    assert board.empty()


def test_strokes_and_labels_fade_unless_pinned() -> None:
    board = board_with("a")
    board.add("a", Stroke(((0, 0), (1, 1))), 0.0)
    board.add("a", Label("pinned", (0.5, 0.5), pin=True), 0.0)
    assert len(board.scene(FADE_SECONDS - 0.1)) == 2
    assert board.scene(FADE_SECONDS + 0.1) == [Text("pinned", (0.5, 0.5), board.colour_of("a"))]
    assert board.next_change(FADE_SECONDS + 0.1) is None  # nothing left that fades


def test_clear_takes_one_author_or_everyone() -> None:
    board = board_with("a", "b")
    for author in ("a", "b"):
        board.add(author, Stroke(((0, 0), (1, 1)), pin=True), 0.0)
    board.add("a", Clear(), 1.0)  # a helper's clear is its own marks
    assert [s.colour for s in board.scene(1.0)] == [board.colour_of("b")]
    board.clear()
    assert board.scene(1.0) == []


def test_authors_get_distinct_colours() -> None:
    board = board_with("a", "b", "c")
    assert len({board.colour_of(a) for a in "abc"}) == 3


def test_marks_are_rate_limited_per_author() -> None:
    board = board_with("a", "b")
    accepted = 0
    for _ in range(500):
        try:
            board.add("a", Point((0.5, 0.5)), 10.0)
            accepted += 1
        except AnnotateError as exc:
            assert exc.reason == "rate-limited"
    assert 100 <= accepted <= 130
    board.add("b", Point((0.5, 0.5)), 10.0)  # another author's budget is its own


def test_strokes_alive_are_bounded() -> None:
    board = board_with("a")
    for n in range(MAX_STROKES + 10):
        board.add("a", Stroke(((0, 0), (1, 1)), pin=True), float(n))
    assert len(board.scene(100.0)) == MAX_STROKES


def test_unknown_author_is_refused() -> None:
    with pytest.raises(AnnotateError):
        Board().add("nobody", Point((0, 0)), 0.0)
