"""Remote input, sans I/O: wire events, stdin commands, chords, rate limiting, held-key tracking.

The joiner turns JSON stdin commands into wire events (`parse_command`), throttles pointer moves
(`MoveThrottle`) and sends them as compact JSON (`encode`). The host runs every received message
through an `InputGate` (permission, validation, rate limit, held-key bookkeeping) and injects what
comes out. Nothing here does I/O or reads a clock: timestamps come in as arguments.

Wire events, one JSON object per data-channel message (x, y are fractions of the shared monitor):
    {"t":"move","x":0.25,"y":0.75}
    {"t":"button","b":"left","d":true}      press (d true) or release (d false) at the pointer
    {"t":"wheel","dx":0,"dy":3}             notches; dy > 0 scrolls down, dx > 0 scrolls right
    {"t":"key","k":"ctrl","d":true}         a named key (KEY_NAMES) or one printable character
    {"t":"text","s":"hello"}                typed text (printable characters, newline, tab)
    {"t":"hold"}                            keep-alive while the joiner holds a key or button:
                                            a host that stops hearing them releases everything
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from rassist.protocol.jsonwire import loads
from rassist.protocol.keys import KEY_ALIASES, KEY_NAMES
from rassist.protocol.ratelimit import TokenBucket

BUTTONS: tuple[str, ...] = ("left", "right", "middle")
MAX_TEXT = 1000          # characters in one text event or command
MAX_WHEEL = 50           # notches per wheel event, each way
MAX_CLICKS = 3           # a triple click is the most any desktop understands
MAX_HELD = 16            # keys and buttons held at once; more is a stuck-key attack, not typing
MAX_MESSAGE = 16 * 1024  # characters (or bytes) of one wire message (a full text event fits with room to spare)

Reason = Literal["no-permission", "malformed", "out-of-range", "rate-limited", "too-many-held"]


class InputError(ValueError):
    """A refused event or command; `reason` groups refusals for counting, str() says why."""

    def __init__(self, message: str, reason: Reason = "malformed") -> None:
        super().__init__(message)
        self.reason: Reason = reason


@dataclass(frozen=True, slots=True)
class Move:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Button:
    button: str
    down: bool


@dataclass(frozen=True, slots=True)
class Wheel:
    dx: int
    dy: int


@dataclass(frozen=True, slots=True)
class Key:
    key: str
    down: bool


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Hold:
    """Nothing to inject: the joiner still holds what it pressed (see HOLD_TIMEOUT)."""


InputEvent: TypeAlias = Move | Button | Wheel | Key | Text | Hold

HOLD_INTERVAL = 0.5  # the joiner repeats Hold this often while it holds anything
HOLD_TIMEOUT = 2.0   # the host releases everything after this long without a word from the peer


# ---------------------------------------------------------------- wire codec

def to_wire(event: InputEvent) -> dict[str, object]:
    """The wire object of an event."""
    match event:
        case Move(x, y):
            return {"t": "move", "x": x, "y": y}
        case Button(button, down):
            return {"t": "button", "b": button, "d": down}
        case Wheel(dx, dy):
            return {"t": "wheel", "dx": dx, "dy": dy}
        case Key(key, down):
            return {"t": "key", "k": key, "d": down}
        case Text(text):
            return {"t": "text", "s": text}
        case Hold():
            return {"t": "hold"}
    raise TypeError(f"not an input event: {event!r}")


def encode(event: InputEvent) -> str:
    """Compact JSON for one data-channel message."""
    return json.dumps(to_wire(event), separators=(",", ":"), ensure_ascii=False)


_WIRE_FIELDS: Mapping[str, frozenset[str]] = {
    "move": frozenset({"t", "x", "y"}),
    "button": frozenset({"t", "b", "d"}),
    "wheel": frozenset({"t", "dx", "dy"}),
    "key": frozenset({"t", "k", "d"}),
    "text": frozenset({"t", "s"}),
    "hold": frozenset({"t"}),
}


def decode(data: str | bytes) -> InputEvent:
    """Parse one data-channel message; raises InputError, never anything else."""
    if len(data) > MAX_MESSAGE:
        raise InputError(f"message of {len(data)} characters exceeds {MAX_MESSAGE}", "out-of-range")
    try:
        obj = loads(data)
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}") from None
    return parse_wire(obj)


def parse_wire(obj: object) -> InputEvent:
    """Validate a decoded wire object strictly: known type, exact fields, values in range."""
    if not isinstance(obj, dict):
        raise InputError("an input event must be a JSON object")
    kind = obj.get("t")
    if not isinstance(kind, str) or kind not in _WIRE_FIELDS:
        raise InputError(f"unknown input event type {kind!r}")
    fields = _WIRE_FIELDS[kind]
    if set(obj) != fields:
        extra = sorted(set(obj) - fields)
        missing = sorted(fields - set(obj))
        raise InputError(f"{kind} event: missing {missing}, unexpected {extra}")
    match kind:
        case "move":
            return Move(_fraction(obj["x"], "x"), _fraction(obj["y"], "y"))
        case "button":
            return Button(_button(obj["b"]), _flag(obj["d"], "d"))
        case "wheel":
            return Wheel(_notches(obj["dx"], "dx"), _notches(obj["dy"], "dy"))
        case "key":
            return Key(_wire_key(obj["k"]), _flag(obj["d"], "d"))
        case "text":
            return Text(_text(obj["s"]))
        case _:
            return Hold()


def _number(value: object, name: str) -> float:
    # bool is an int in Python but never a coordinate in JSON.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number, not {_show(value)}")
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite", "out-of-range")
    return float(value)


def _fraction(value: object, name: str) -> float:
    number = _number(value, name)
    if not 0.0 <= number <= 1.0:
        raise InputError(f"{name}={number} is outside 0..1", "out-of-range")
    return number


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, not {_show(value)}")
    return value


def _notches(value: object, name: str) -> int:
    number = _integer(value, name)
    if not -MAX_WHEEL <= number <= MAX_WHEEL:
        raise InputError(f"{name}={number} is outside -{MAX_WHEEL}..{MAX_WHEEL}", "out-of-range")
    return number


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, not {_show(value)}")
    return value


def _button(value: object) -> str:
    if value not in BUTTONS:  # also refuses non-strings
        raise InputError(f"button must be one of {', '.join(BUTTONS)}, not {_show(value)}")
    return value  # type: ignore[return-value]


def _is_char_key(value: str) -> bool:
    return len(value) == 1 and value.isprintable() and value != " "


def _wire_key(value: object) -> str:
    if not isinstance(value, str) or not (value in KEY_NAMES or _is_char_key(value)):
        raise InputError(f"unknown key {_show(value)}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise InputError(f"text must be a string, not {_show(value)}")
    if not value:
        raise InputError("text is empty")
    if len(value) > MAX_TEXT:
        raise InputError(f"text of {len(value)} characters exceeds {MAX_TEXT}", "out-of-range")
    for index, char in enumerate(value):
        if not (char.isprintable() or char in "\n\t"):
            raise InputError(f"text has an untypable character {char!r} at {index}")
    return value


def _show(value: object) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


# ---------------------------------------------------------------- keys and chords

def normalise_key(name: str) -> str:
    """Canonical key name for a command spelling: aliases resolved, letters lower-cased.

    A single character is a key on its own ("t", "/", "+"); names are case-insensitive.
    """
    if not isinstance(name, str) or not name:
        raise InputError(f"a key name must be a non-empty string, not {_show(name)}")
    if len(name) == 1:
        if name == " ":
            return "space"
        if not _is_char_key(name):
            raise InputError(f"unknown key {_show(name)}")
        # "ctrl+T" means the T key, as in menus; shift+t types a capital.
        return name.lower() if name.isascii() and name.isalpha() else name
    lowered = name.lower().replace("-", "_")
    canonical = KEY_ALIASES.get(lowered.replace("_", ""), KEY_ALIASES.get(lowered, lowered))
    if canonical in KEY_NAMES or _is_char_key(canonical):
        return canonical
    raise InputError(f"unknown key {_show(name)}")


def parse_chord(chord: str) -> tuple[str, ...]:
    """"ctrl+alt+t" -> ("ctrl", "alt", "t"). A trailing "+" is the plus key: "ctrl++"."""
    if not isinstance(chord, str) or not chord.strip():
        raise InputError(f"a key chord must be a non-empty string like \"ctrl+alt+t\", not {_show(chord)}")
    text = chord.strip()
    parts = text[:-2].split("+") + ["+"] if text.endswith("++") else text.split("+")
    if text == "+":
        parts = ["+"]
    if any(part.strip() == "" for part in parts):
        raise InputError(f"empty key in chord {_show(chord)}")
    keys = tuple(normalise_key(part.strip()) for part in parts)
    if len(set(keys)) != len(keys):
        raise InputError(f"a key repeats in chord {_show(chord)}")
    if len(keys) > MAX_HELD:
        raise InputError(f"chord of {len(keys)} keys exceeds {MAX_HELD}", "out-of-range")
    return keys


def chord_events(keys: Iterable[str]) -> list[InputEvent]:
    """Press the keys in order, release them in reverse: a chord pressed and released."""
    ordered = list(keys)
    return [Key(k, True) for k in ordered] + [Key(k, False) for k in reversed(ordered)]


# ---------------------------------------------------------------- stdin commands

COMMANDS: tuple[str, ...] = ("move", "click", "scroll", "text", "key")
_COMMAND_OPTIONS: Mapping[str, frozenset[str]] = {
    "move": frozenset(), "click": frozenset({"button", "count"}), "scroll": frozenset(),
    "text": frozenset(), "key": frozenset(),
}
_IGNORED = frozenset({"id"})  # a correlation id a script may attach to any command


def command_name(command: Mapping[str, object]) -> str:
    """Which input command a stdin object is; raises InputError if none or several."""
    names = [name for name in COMMANDS if name in command]
    if len(names) != 1:
        raise InputError(f"an input command has exactly one of {', '.join(COMMANDS)}")
    return names[0]


def parse_command(command: Mapping[str, object]) -> list[InputEvent]:
    """A JSON stdin command -> the wire events that perform it.

    {"move": [x, y]}, {"click": [x, y], "button": "left", "count": 1}, {"scroll": [dx, dy]},
    {"text": "..."}, {"key": "ctrl+alt+t"}.
    """
    if not isinstance(command, Mapping):
        raise InputError("a command must be a JSON object")
    name = command_name(command)
    unexpected = sorted(set(command) - {name} - _COMMAND_OPTIONS[name] - _IGNORED)
    if unexpected:
        allowed = sorted(_COMMAND_OPTIONS[name])
        raise InputError(f"{name}: unexpected field(s) {unexpected}"
                         + (f" (allowed: {', '.join(allowed)})" if allowed else ""))
    value = command[name]
    match name:
        case "move":
            return [_point(value, name)]
        case "click":
            where = _point(value, name)
            button = _button(command.get("button", "left"))
            count = _integer(command.get("count", 1), "count")
            if not 1 <= count <= MAX_CLICKS:
                raise InputError(f"count={count} is outside 1..{MAX_CLICKS}", "out-of-range")
            return [where] + [Button(button, down) for _ in range(count) for down in (True, False)]
        case "scroll":
            dx, dy = _pair(value, name)
            return [Wheel(_notches(dx, "dx"), _notches(dy, "dy"))]
        case "text":
            return [Text(_text(value))]
        case _:
            return chord_events(parse_chord(value))  # type: ignore[arg-type]


def _pair(value: object, name: str) -> tuple[object, object]:
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{name} takes a list of two numbers, not {_show(value)}")
    return value[0], value[1]


def _point(value: object, name: str) -> Move:
    x, y = _pair(value, name)
    return Move(_fraction(x, "x"), _fraction(y, "y"))


# ---------------------------------------------------------------- rate limiting

def event_cost(event: InputEvent) -> int:
    """Tokens an event spends: typed text costs one per character."""
    return len(event.text) if isinstance(event, Text) else 1


# ---------------------------------------------------------------- move coalescing

def coalesce_moves(events: Iterable[InputEvent]) -> list[InputEvent]:
    """Keep only the last of each run of consecutive moves: where the pointer ends up is what
    matters, and a backlog of stale positions would make it lag. Other events keep their order."""
    out: list[InputEvent] = []
    for event in events:
        if isinstance(event, Move) and out and isinstance(out[-1], Move):
            out[-1] = event
        else:
            out.append(event)
    return out


@dataclass(slots=True)
class MoveThrottle:
    """Joiner side: at most one move per `interval` seconds, never more than one interval late.

    offer() says whether to send a move now; if not, the move waits as `pending` (replacing any
    older one) until due() at `deadline`, or until another event flushes it first (flush()), so
    that moves and clicks stay in order.
    """

    interval: float = 1 / 120
    pending: Move | None = None
    last_sent: float | None = None

    def offer(self, move: Move, now: float) -> Move | None:
        if self.last_sent is None or now - self.last_sent >= self.interval:
            self.pending = None  # superseded by this newer position
            self.last_sent = now
            return move
        self.pending = move
        return None

    @property
    def deadline(self) -> float | None:
        """When the pending move is due, if there is one."""
        if self.pending is None:
            return None
        return (self.last_sent or 0.0) + self.interval

    def due(self, now: float) -> Move | None:
        """The pending move, if its time has come."""
        deadline = self.deadline
        if deadline is None or now < deadline:
            return None
        return self.flush(now)

    def flush(self, now: float) -> Move | None:
        """The pending move, right now (before another event goes out)."""
        move, self.pending = self.pending, None
        if move is not None:
            self.last_sent = now
        return move


# ---------------------------------------------------------------- held keys and buttons

@dataclass(slots=True)
class HeldInputs:
    """What is held down on the host, so that nothing stays stuck when control ends."""

    keys: list[str] = field(default_factory=list)      # in press order
    buttons: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys) + len(self.buttons)

    def admit(self, event: InputEvent) -> bool:
        """Record a press or release; False means the event changes nothing and is skipped
        (releasing what is not held). Raises InputError past MAX_HELD."""
        if isinstance(event, Key):
            return self._admit(self.keys, event.key, event.down)
        if isinstance(event, Button):
            return self._admit(self.buttons, event.button, event.down)
        return True

    def _admit(self, held: list[str], name: str, down: bool) -> bool:
        if down:
            if name not in held:
                if len(self) >= MAX_HELD:
                    raise InputError(f"{MAX_HELD} keys and buttons are already held", "too-many-held")
                held.append(name)
            return True  # a repeated press is key auto-repeat
        if name in held:
            held.remove(name)
            return True
        return False

    def release_all(self) -> list[InputEvent]:
        """Releases for everything held, last pressed first; the tracker is empty afterwards."""
        out: list[InputEvent] = [Button(b, False) for b in reversed(self.buttons)]
        out += [Key(k, False) for k in reversed(self.keys)]
        self.keys.clear()
        self.buttons.clear()
        return out


# ---------------------------------------------------------------- the host's gate

class InputGate:
    """Host side: every message from the peer goes through receive(); what comes out may be
    injected. Order of checks: permission, shape and bounds, rate, held-key bookkeeping.
    Releases of held keys and buttons are never rate-limited: refusing one would leave it stuck."""

    def __init__(self, rate: float = 1000.0, burst: float = 1000.0) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.held = HeldInputs()
        self.refused: dict[str, int] = {}

    def receive(self, data: str | bytes, allowed: bool, now: float) -> InputEvent | None:
        """The event to inject, or None if there is nothing to do. Raises InputError on refusal
        (also counted in `refused` by reason)."""
        try:
            if not allowed:
                raise InputError("control is not granted", "no-permission")
            event = decode(data)
            # Letting go and keeping alive only ever reduce what is held: never rate-limited.
            releasing = (isinstance(event, (Key, Button)) and not event.down) or isinstance(event, Hold)
            if not releasing and not self.bucket.allow(now, event_cost(event)):
                raise InputError("too many input events", "rate-limited")
            return event if self.held.admit(event) else None
        except InputError as exc:
            self.refused[exc.reason] = self.refused.get(exc.reason, 0) + 1
            raise

    def release_all(self) -> list[InputEvent]:
        return self.held.release_all()
