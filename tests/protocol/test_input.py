"""The pure input layer: wire codec, commands, chords, rate limiting, coalescing, held keys."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.protocol.input import (
    BUTTONS,
    KEY_ALIASES,
    KEY_NAMES,
    MAX_CLICKS,
    MAX_HELD,
    MAX_MESSAGE,
    MAX_TEXT,
    MAX_WHEEL,
    Button,
    HeldInputs,
    Hold,
    InputError,
    InputEvent,
    InputGate,
    Key,
    Move,
    MoveThrottle,
    Text,
    Wheel,
    chord_events,
    coalesce_moves,
    decode,
    encode,
    event_cost,
    normalise_key,
    parse_chord,
    parse_command,
    parse_wire,
    to_wire,
)
from rassist.protocol.ratelimit import TokenBucket
from rassist.protocol.refusals import RefusalReporter

# ------------------------------------------------------------------ strategies

fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
notches = st.integers(-MAX_WHEEL, MAX_WHEEL)
char_keys = st.characters(exclude_categories=("C", "Z")).filter(lambda c: c.isprintable())
key_names = st.sampled_from(sorted(KEY_NAMES)) | char_keys
texts = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Co", "Cn", "Cc", "Cf", "Zl", "Zp")) | st.sampled_from("\n\t"),
    min_size=1, max_size=MAX_TEXT,
).filter(lambda s: all(c.isprintable() or c in "\n\t" for c in s))

events: st.SearchStrategy[InputEvent] = st.one_of(
    st.builds(Move, fractions, fractions),
    st.builds(Button, st.sampled_from(BUTTONS), st.booleans()),
    st.builds(Wheel, notches, notches),
    st.builds(Key, key_names, st.booleans()),
    st.builds(Text, texts),
    st.just(Hold()),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


# ------------------------------------------------------------------ wire codec

@given(events)
def test_every_event_survives_the_wire(event: InputEvent) -> None:
    message = encode(event)
    assert decode(message) == event
    assert decode(message.encode()) == event
    # Compact: exactly the separator-free form of its own content.
    assert message == json.dumps(json.loads(message), separators=(",", ":"), ensure_ascii=False)


def test_wire_form_is_compact_json() -> None:
    assert encode(Move(0.25, 0.75)) == '{"t":"move","x":0.25,"y":0.75}'
    assert encode(Button("left", True)) == '{"t":"button","b":"left","d":true}'
    assert encode(Wheel(0, -3)) == '{"t":"wheel","dx":0,"dy":-3}'
    assert encode(Key("ctrl", False)) == '{"t":"key","k":"ctrl","d":false}'
    assert encode(Text("é\n")) == '{"t":"text","s":"é\\n"}'
    assert encode(Hold()) == '{"t":"hold"}'


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_garbage_is_refused_with_input_error_only(data: bytes | str) -> None:
    try:
        decode(data)
    except InputError as exc:
        assert exc.reason in ("malformed", "out-of-range")
        assert str(exc)


@given(json_values)
def test_any_json_value_is_either_a_valid_event_or_refused(value: object) -> None:
    try:
        message = json.dumps(value)
    except ValueError:
        return
    try:
        event = decode(message)
    except InputError:
        return
    assert to_wire(event)["t"] in ("move", "button", "wheel", "key", "text", "hold")


@given(st.fixed_dictionaries({"t": st.sampled_from(["move", "button", "wheel", "key", "text", "hold"])},
                             optional={"x": json_values, "y": json_values, "b": json_values,
                                       "d": json_values, "dx": json_values, "dy": json_values,
                                       "k": json_values, "s": json_values, "z": json_values}))
def test_events_with_wrong_fields_are_refused(obj: dict[str, object]) -> None:
    # Fuzz field values around the right types: whatever passes must be well formed.
    try:
        event = parse_wire(obj)
    except InputError:
        return
    assert parse_wire(to_wire(event)) == event
    assert set(to_wire(event)) == set(obj)


@pytest.mark.parametrize("x", [-0.0001, 1.0001, -1, 2, 1e308, -1e308])
def test_coordinates_outside_unit_square_are_out_of_range(x: float) -> None:
    for obj in ({"t": "move", "x": x, "y": 0.5}, {"t": "move", "x": 0.5, "y": x}):
        with pytest.raises(InputError, match="outside 0..1") as info:
            parse_wire(obj)
        assert info.value.reason == "out-of-range"


@pytest.mark.parametrize("raw", ['{"t":"move","x":NaN,"y":0}', '{"t":"move","x":0,"y":Infinity}',
                                 '{"t":"move","x":-Infinity,"y":0}'])
def test_non_finite_coordinates_are_refused(raw: str) -> None:
    # NaN and Infinity are not JSON: the shared parser refuses them before any field is read.
    with pytest.raises(InputError, match="not JSON") as info:
        decode(raw)
    assert info.value.reason == "malformed"


@pytest.mark.parametrize("obj, message", [
    ({"t": "move", "x": True, "y": 0}, "x must be a number"),
    ({"t": "move", "x": "0.5", "y": 0}, "x must be a number"),
    ({"t": "move", "x": 0.5}, "missing \\['y'\\]"),
    ({"t": "move", "x": 0.5, "y": 0.5, "z": 1}, "unexpected \\['z'\\]"),
    ({"t": "button", "b": "left", "d": 1}, "d must be true or false"),
    ({"t": "button", "b": "back", "d": True}, "button must be one of left, right, middle"),
    ({"t": "button", "b": ["left"], "d": True}, "button must be one of"),
    ({"t": "wheel", "dx": 0.5, "dy": 0}, "dx must be an integer"),
    ({"t": "wheel", "dx": 0, "dy": MAX_WHEEL + 1}, "outside"),
    ({"t": "key", "k": "hyper", "d": True}, "unknown key"),
    ({"t": "key", "k": "ab", "d": True}, "unknown key"),
    ({"t": "key", "k": " ", "d": True}, "unknown key"),
    ({"t": "key", "k": "\x1b", "d": True}, "unknown key"),
    ({"t": "key", "k": 65, "d": True}, "unknown key"),
    ({"t": "text", "s": ""}, "empty"),
    ({"t": "text", "s": "a\x00b"}, "untypable character '\\\\x00' at 1"),
    ({"t": "text", "s": "a\rb"}, "untypable"),
    ({"t": "text", "s": "\ud800"}, "untypable"),
    ({"t": "text", "s": 5}, "text must be a string"),
    ({"t": "text", "s": "x" * (MAX_TEXT + 1)}, "exceeds"),
    ({"t": "hold", "k": "a"}, "unexpected \\['k'\\]"),
    ({"t": "teleport"}, "unknown input event type 'teleport'"),
    ({"t": 1}, "unknown input event type"),
    ({}, "unknown input event type"),
    ([], "must be a JSON object"),
    ("move", "must be a JSON object"),
])
def test_malformed_events_say_what_is_wrong(obj: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_wire(obj)


def test_huge_and_deeply_nested_messages_are_refused_without_crashing() -> None:
    with pytest.raises(InputError, match="exceeds"):
        decode("[" * (MAX_MESSAGE + 1))
    with pytest.raises(InputError, match="not JSON"):
        decode("[" * (MAX_MESSAGE - 1) + "]")  # nesting past the recursion limit
    with pytest.raises(InputError, match="not JSON"):
        decode(b"\xff\xfe")
    with pytest.raises(InputError, match="not JSON"):
        decode("")


def test_a_full_text_event_fits_in_one_message() -> None:
    worst = Text("\U0001f600" * MAX_TEXT)  # escapes would be 12 bytes each; we send UTF-8
    assert len(encode(worst).encode()) <= MAX_MESSAGE
    assert decode(encode(worst).encode()) == worst


# ------------------------------------------------------------------ keys and chords

def test_chords_parse_to_canonical_keys() -> None:
    assert parse_chord("ctrl+alt+t") == ("ctrl", "alt", "t")
    assert parse_chord("Ctrl+Shift+T") == ("ctrl", "shift", "t")
    assert parse_chord(" control + escape ") == ("ctrl", "esc")
    assert parse_chord("ctrl++") == ("ctrl", "+")
    assert parse_chord("+") == ("+",)
    assert parse_chord("shift+plus") == ("shift", "+")
    assert parse_chord("super+Page-Up") == ("cmd", "page_up")
    assert parse_chord("F5") == ("f5",)
    assert parse_chord("alt+F4") == ("alt", "f4")
    assert parse_chord("ctrl+é") == ("ctrl", "é")
    assert parse_chord("enter") == ("enter",)


@pytest.mark.parametrize("chord, message", [
    ("", "non-empty"), ("   ", "non-empty"), ("ctrl+", "empty key"), ("+ctrl", "empty key"),
    ("ctrl++alt", "empty key"), ("ctrl+hyper", "unknown key \"hyper\""), ("ctrl+ctrl", "repeats"),
    ("ctrl+control", "repeats"), ("++", "empty key"), (None, "non-empty string"), (7, "non-empty string"),
])
def test_bad_chords_are_refused(chord: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_chord(chord)  # type: ignore[arg-type]


@given(st.lists(st.sampled_from(sorted(KEY_NAMES)), min_size=1, max_size=MAX_HELD, unique=True))
def test_any_chord_of_distinct_names_round_trips(keys: list[str]) -> None:
    assert parse_chord("+".join(keys)) == tuple(keys)
    assert parse_chord("+".join(k.upper() for k in keys)) == tuple(keys)


@given(st.sampled_from(sorted(KEY_ALIASES)))
def test_every_alias_names_a_real_key(alias: str) -> None:
    key = normalise_key(alias)
    assert key in KEY_NAMES or len(key) == 1
    assert parse_wire({"t": "key", "k": key, "d": True}) == Key(key, True)


@given(st.lists(key_names, min_size=1, max_size=6, unique=True))
def test_chord_events_press_in_order_and_release_in_reverse(keys: list[str]) -> None:
    out = chord_events(keys)
    assert out[: len(keys)] == [Key(k, True) for k in keys]
    assert out[len(keys):] == [Key(k, False) for k in reversed(keys)]
    held = HeldInputs()
    assert all(held.admit(event) for event in out)
    assert len(held) == 0


# ------------------------------------------------------------------ stdin commands

def test_commands_expand_to_wire_events() -> None:
    assert parse_command({"move": [0.5, 0.25]}) == [Move(0.5, 0.25)]
    assert parse_command({"click": [0.25, 0.75]}) == [
        Move(0.25, 0.75), Button("left", True), Button("left", False)]
    assert parse_command({"click": [0, 1], "button": "right", "count": 2}) == [
        Move(0.0, 1.0), Button("right", True), Button("right", False),
        Button("right", True), Button("right", False)]
    assert parse_command({"scroll": [0, 3]}) == [Wheel(0, 3)]
    assert parse_command({"text": "hi\n"}) == [Text("hi\n")]
    assert parse_command({"key": "ctrl+alt+t"}) == chord_events(("ctrl", "alt", "t"))
    assert parse_command({"key": "a", "id": 7}) == [Key("a", True), Key("a", False)]


@pytest.mark.parametrize("command, message", [
    ({"move": [0.5]}, "list of two numbers"),
    ({"move": {"x": 0.5, "y": 0.5}}, "list of two numbers"),
    ({"move": [1.5, 0.5]}, "x=1.5 is outside 0..1"),
    ({"move": [0.5, -0.1]}, "y=-0.1 is outside 0..1"),
    ({"move": ["a", 0.5]}, "x must be a number"),
    ({"click": [0.5, 0.5], "button": "back"}, "button must be one of"),
    ({"click": [0.5, 0.5], "count": 0}, f"count=0 is outside 1..{MAX_CLICKS}"),
    ({"click": [0.5, 0.5], "count": 1.0}, "count must be an integer"),
    ({"click": [0.5, 0.5], "buton": "left"}, "unexpected field\\(s\\) \\['buton'\\] \\(allowed: button, count\\)"),
    ({"move": [0.5, 0.5], "button": "left"}, "unexpected field"),
    ({"scroll": [0, 100]}, "dy=100 is outside"),
    ({"scroll": [0.5, 0]}, "dx must be an integer"),
    ({"text": ""}, "text is empty"),
    ({"text": "\x07"}, "untypable"),
    ({"text": ["a"]}, "text must be a string"),
    ({"key": "ctrl+nope"}, "unknown key"),
    ({"key": 3}, "chord must be a non-empty string"),
    ({"move": [0, 0], "click": [0, 0]}, "exactly one of"),
    ({"chat": "hi"}, "exactly one of"),
])
def test_bad_commands_are_refused_with_a_clear_message(command: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_command(command)


@given(st.dictionaries(st.sampled_from(["move", "click", "scroll", "text", "key", "button", "count", "id", "x"]),
                       json_values, min_size=1, max_size=4))
def test_any_command_is_either_wire_events_or_an_input_error(command: dict[str, object]) -> None:
    try:
        out = parse_command(command)
    except InputError:
        return
    assert out and all(decode(encode(event)) == event for event in out)


# ------------------------------------------------------------------ rate limiting

@given(st.lists(st.tuples(st.floats(0, 0.5), st.integers(1, 50)), max_size=200),
       st.floats(1, 1000), st.floats(1, 500))
def test_token_bucket_never_allows_more_than_burst_plus_refill(
        steps: list[tuple[float, int]], rate: float, burst: float) -> None:
    bucket = TokenBucket(rate, burst)
    now, allowed = 0.0, 0
    for gap, cost in steps:
        now += gap
        if bucket.allow(now, cost):
            allowed += cost
    assert allowed <= burst + rate * now + 1e-6


@given(st.floats(0, 1e5), st.lists(st.floats(0.1, 100), min_size=1, max_size=50))
def test_token_bucket_with_enough_spacing_always_allows(start: float, gaps: list[float]) -> None:
    bucket = TokenBucket(rate=10, burst=1)
    now = start
    assert bucket.allow(now)
    for gap in gaps:
        now += gap
        assert bucket.allow(now)


def test_token_bucket_refills_only_forwards_in_time() -> None:
    bucket = TokenBucket(rate=10, burst=2)
    assert bucket.allow(100.0) and bucket.allow(100.0)
    assert not bucket.allow(100.0)
    assert not bucket.allow(50.0)  # a clock going backwards is no excuse
    assert not bucket.allow(100.05)
    assert bucket.allow(100.1)
    assert not bucket.allow(200.0, cost=3)  # more than the bucket ever holds
    with pytest.raises(ValueError):
        TokenBucket(0, 1)


def test_text_costs_one_token_per_character() -> None:
    assert event_cost(Text("hello")) == 5
    assert event_cost(Move(0, 0)) == event_cost(Key("a", True)) == 1


# ------------------------------------------------------------------ coalescing

@given(st.lists(events, max_size=40))
def test_coalescing_keeps_other_events_and_the_last_of_each_run_of_moves(batch: list[InputEvent]) -> None:
    out = coalesce_moves(batch)
    assert [e for e in out if not isinstance(e, Move)] == [e for e in batch if not isinstance(e, Move)]
    assert not any(isinstance(a, Move) and isinstance(b, Move) for a, b in zip(out, out[1:]))
    runs_ends = [e for i, e in enumerate(batch) if isinstance(e, Move)
                 and (i + 1 == len(batch) or not isinstance(batch[i + 1], Move))]
    assert [e for e in out if isinstance(e, Move)] == runs_ends
    assert coalesce_moves(out) == out


@given(st.lists(st.tuples(st.floats(0, 0.05), fractions), min_size=1, max_size=100))
def test_move_throttle_spaces_moves_and_never_loses_the_last(steps: list[tuple[float, float]]) -> None:
    throttle = MoveThrottle(interval=1 / 60)
    now, sent_at, sent = 0.0, [], []

    def poll(until: float) -> None:
        # the caller's timer: fire the pending move at its deadline, if it comes before `until`
        deadline = throttle.deadline
        if deadline is not None and deadline <= until:
            move = throttle.due(deadline)
            assert move is not None
            sent_at.append(deadline)
            sent.append(move)

    for gap, x in steps:
        poll(now + gap)
        now += gap
        move = throttle.offer(Move(x, x), now)
        if move is not None:
            sent_at.append(now)
            sent.append(move)
    poll(math.inf)
    assert sent[-1] == Move(steps[-1][1], steps[-1][1])  # the pointer ends where it was sent
    assert all(b - a >= throttle.interval - 1e-12 for a, b in zip(sent_at, sent_at[1:]))
    assert throttle.pending is None


def test_move_throttle_sends_the_first_move_at_once_and_flushes_before_other_events() -> None:
    throttle = MoveThrottle(interval=0.1)
    assert throttle.offer(Move(0.1, 0.1), 5.0) == Move(0.1, 0.1)
    assert throttle.offer(Move(0.2, 0.2), 5.01) is None
    assert throttle.offer(Move(0.3, 0.3), 5.02) is None
    assert throttle.deadline == pytest.approx(5.1)
    assert throttle.due(5.05) is None
    assert throttle.flush(5.06) == Move(0.3, 0.3)  # a click is coming: the move goes first
    assert throttle.flush(5.07) is None and throttle.deadline is None
    assert throttle.offer(Move(0.4, 0.4), 5.2) == Move(0.4, 0.4)


# ------------------------------------------------------------------ held keys and buttons

presses = st.one_of(st.builds(Key, key_names, st.booleans()),
                    st.builds(Button, st.sampled_from(BUTTONS), st.booleans()))


@given(st.lists(presses, max_size=60))
def test_release_all_releases_exactly_what_is_held(sequence: list[InputEvent]) -> None:
    held = HeldInputs()
    down: set[tuple[str, str]] = set()
    for event in sequence:
        name = ("key", event.key) if isinstance(event, Key) else ("button", event.button)  # type: ignore[union-attr]
        try:
            admitted = held.admit(event)
        except InputError as exc:
            assert exc.reason == "too-many-held" and len(down) == MAX_HELD and name not in down
            continue
        if event.down:  # type: ignore[union-attr]
            down.add(name)
            assert admitted
        else:
            assert admitted == (name in down)
            down.discard(name)
        assert len(held) == len(down) <= MAX_HELD
    releases = held.release_all()
    assert {("key", e.key) if isinstance(e, Key) else ("button", e.button) for e in releases} == down  # type: ignore[union-attr]
    assert all(not e.down for e in releases)  # type: ignore[union-attr]
    assert len(held) == 0 and held.release_all() == []


def test_release_all_lets_go_of_the_last_pressed_first() -> None:
    held = HeldInputs()
    for event in [Key("ctrl", True), Key("shift", True), Button("left", True), Key("a", True)]:
        held.admit(event)
    assert held.release_all() == [Button("left", False), Key("a", False), Key("shift", False), Key("ctrl", False)]


# ------------------------------------------------------------------ the host's gate

def test_gate_drops_and_counts_events_without_permission() -> None:
    gate = InputGate()
    for _ in range(3):
        with pytest.raises(InputError, match="not granted") as info:
            gate.receive(encode(Move(0.5, 0.5)), allowed=False, now=0.0)
        assert info.value.reason == "no-permission"
    assert gate.refused == {"no-permission": 3}
    assert gate.receive(encode(Move(0.5, 0.5)), allowed=True, now=0.0) == Move(0.5, 0.5)


def test_gate_counts_malformed_and_out_of_range_separately() -> None:
    gate = InputGate()
    for raw in ["{", '{"t":"move","x":2,"y":0}', '{"t":"nope"}', '{"t":"move","x":0,"y":-1}']:
        with pytest.raises(InputError):
            gate.receive(raw, allowed=True, now=0.0)
    assert gate.refused == {"malformed": 2, "out-of-range": 2}


def test_gate_rate_limits_a_flood_but_never_a_release() -> None:
    gate = InputGate(rate=100, burst=10)
    assert gate.receive(encode(Key("shift", True)), True, 0.0) == Key("shift", True)
    accepted = 0
    for _ in range(1000):
        try:
            gate.receive(encode(Move(0.5, 0.5)), True, 0.0)
            accepted += 1
        except InputError as exc:
            assert exc.reason == "rate-limited"
    assert accepted == 9
    assert gate.refused == {"rate-limited": 991}
    with pytest.raises(InputError, match="too many"):
        gate.receive(encode(Key("a", True)), True, 0.0)
    assert gate.receive(encode(Hold()), True, 0.0) == Hold()
    assert gate.receive(encode(Key("shift", False)), True, 0.0) == Key("shift", False)
    assert gate.receive(encode(Move(0.1, 0.1)), True, 0.1) == Move(0.1, 0.1)  # refilled


def test_gate_text_cannot_exceed_the_budget() -> None:
    gate = InputGate(rate=10, burst=20)
    with pytest.raises(InputError, match="too many"):
        gate.receive(encode(Text("x" * 21)), True, 0.0)
    assert gate.receive(encode(Text("x" * 20)), True, 0.0) == Text("x" * 20)


def test_gate_ignores_releases_of_what_is_not_held_and_caps_held_keys() -> None:
    gate = InputGate()
    assert gate.receive(encode(Key("a", False)), True, 0.0) is None
    keys = sorted(KEY_NAMES)[:MAX_HELD]
    for key in keys:
        assert gate.receive(encode(Key(key, True)), True, 0.0) == Key(key, True)
    with pytest.raises(InputError, match="already held") as info:
        gate.receive(encode(Button("left", True)), True, 0.0)
    assert info.value.reason == "too-many-held"
    assert gate.receive(encode(Key(keys[0], True)), True, 0.0) == Key(keys[0], True)  # auto-repeat
    assert gate.release_all() == [Key(k, False) for k in reversed(keys)]
    assert gate.receive(encode(Key(keys[0], False)), True, 0.0) is None


@given(st.lists(st.one_of(events.map(encode), st.text(max_size=30), st.binary(max_size=30)), max_size=50),
       st.lists(st.booleans(), min_size=50, max_size=50))
@settings(max_examples=200)
def test_gate_never_raises_anything_but_input_error_and_counts_every_refusal(
        messages: list[str | bytes], allowed: list[bool]) -> None:
    gate = InputGate(rate=50, burst=20)
    refusals = 0
    for index, message in enumerate(messages):
        try:
            event = gate.receive(message, allowed[index], index * 0.01)
        except InputError:
            refusals += 1
            continue
        assert allowed[index]
        assert event is None or decode(encode(event)) == event
    assert sum(gate.refused.values()) == refusals
    assert len(gate.held) <= MAX_HELD


# ------------------------------------------------------------------ refusal reports

def test_reporter_reports_the_first_refusal_then_aggregates() -> None:
    reporter = RefusalReporter(interval=1.0)
    error = InputError("control is not granted", "no-permission")
    first = reporter.refused(error, 10.0)
    assert first is not None and (first.reason, first.count) == ("no-permission", 1)
    assert first.message == "control is not granted"
    assert all(reporter.refused(error, 10.0 + i / 100) is None for i in range(50))
    assert reporter.waiting and reporter.due(10.5) == []
    [report] = reporter.due(11.0)
    assert (report.reason, report.count) == ("no-permission", 50)
    assert not reporter.waiting and reporter.flush(12.0) == []


@given(st.lists(st.tuples(st.floats(0, 2), st.sampled_from(["no-permission", "malformed", "rate-limited"])),
                max_size=100))
def test_reports_add_up_to_every_refusal(steps: list[tuple[float, str]]) -> None:
    reporter = RefusalReporter(interval=1.0)
    now, counted = 0.0, 0
    for gap, reason in steps:
        now += gap
        counted += sum(r.count for r in reporter.due(now))
        report = reporter.refused(InputError("x", reason), now)  # type: ignore[arg-type]
        counted += report.count if report else 0
    counted += sum(r.count for r in reporter.flush(now))
    assert counted == len(steps)
