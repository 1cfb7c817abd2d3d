"""Annotations, sans I/O: marks a helper puts on the host's screen, their limits, and the board
that knows what is visible when.

Coordinates are fractions (0..1) of the shared monitor, like remote input. Nothing here reads a
clock or draws: times come in as arguments, and `Board.scene()` returns plain shapes that the
overlay turns into pixels.

Stdin commands (joiner; the host may use them too, to draw on its own screen):
    {"point": [x, y]}
    {"draw": [[x, y], ...], "color": "#ff3b30", "pin": false}
    {"label": "this one", "at": [x, y], "pin": false}
    {"clear": true}                    the host: everyone's marks; a helper: its own
Wire messages on the control channel (joiner -> host):
    {"t":"mark","k":"point","p":[x,y]}
    {"t":"mark","k":"draw","p":[[x,y],...],"c":"#rrggbb","pin":false}
    {"t":"mark","k":"label","text":"...","p":[x,y],"pin":false}
    {"t":"mark","k":"clear"}
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rassist.protocol.ratelimit import TokenBucket

MAX_POINTS = 512         # points in one stroke
MAX_LABEL = 120          # characters in one label
MAX_STROKES = 32         # strokes and labels alive per author; the oldest goes first
MAX_MESSAGE = 24 * 1024  # characters of one wire message (a full stroke fits)
TRAIL_SECONDS = 1.5      # a pointer trail fades within this
FADE_SECONDS = 10.0      # an unpinned stroke or label goes after this
TRAIL_POINTS = 48
RATE, BURST = 60.0, 120.0  # marks per second per author: a pointer at 30 Hz fits twice over

# Distinct, readable on light and dark screens; the host hands them out in order.
PALETTE = ("#ff3b30", "#007aff", "#34c759", "#ff9500", "#af52de", "#00c7be", "#ff2d55", "#ffcc00")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

Reason = Literal["no-permission", "malformed", "out-of-range", "rate-limited", "unavailable"]


class AnnotateError(ValueError):
    """A refused mark or command; `reason` groups refusals, str() says why."""

    def __init__(self, message: str, reason: Reason = "malformed") -> None:
        super().__init__(message)
        self.reason: Reason = reason


Pt = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Point:
    at: Pt


@dataclass(frozen=True, slots=True)
class Stroke:
    points: tuple[Pt, ...]
    colour: str | None = None
    pin: bool = False


@dataclass(frozen=True, slots=True)
class Label:
    text: str
    at: Pt
    pin: bool = False


@dataclass(frozen=True, slots=True)
class Clear:
    pass


Mark = Point | Stroke | Label | Clear


# ---------------------------------------------------------------- validation

def _point(value: Any, what: str) -> Pt:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise AnnotateError(f"{what} must be [x, y]")
    x, y = value
    for v in (x, y):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise AnnotateError(f"{what} must be two numbers")
        if not 0.0 <= v <= 1.0:
            raise AnnotateError(f"{what} is outside the screen: x and y go from 0 to 1", "out-of-range")
    return float(x), float(y)


def _pin(value: Any) -> bool:
    if not isinstance(value, bool):
        raise AnnotateError("pin must be true or false")
    return value


def _colour(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _COLOUR.fullmatch(value):
        raise AnnotateError('colour must look like "#ff3b30"')
    return value.lower()


def _stroke(points: Any, colour: Any, pin: Any) -> Stroke:
    if not isinstance(points, list) or not points:
        raise AnnotateError("draw takes a list of [x, y] points")
    if len(points) > MAX_POINTS:
        raise AnnotateError(f"a stroke has at most {MAX_POINTS} points", "out-of-range")
    return Stroke(tuple(_point(p, "a stroke point") for p in points), _colour(colour), _pin(pin))


def _label(text: Any, at: Any, pin: Any) -> Label:
    if not isinstance(text, str) or not text.strip():
        raise AnnotateError("a label needs some text")
    if len(text) > MAX_LABEL:
        raise AnnotateError(f"a label has at most {MAX_LABEL} characters", "out-of-range")
    return Label(text, _point(at, "the label's place"), _pin(pin))


COMMANDS = ("point", "draw", "label", "clear")


def parse_command(cmd: Mapping[str, Any]) -> Mark:
    """A stdin command as a mark; AnnotateError says what is wrong with it."""
    if "point" in cmd:
        return Point(_point(cmd["point"], "point"))
    if "draw" in cmd:
        return _stroke(cmd["draw"], cmd.get("color", cmd.get("colour")), cmd.get("pin", False))
    if "label" in cmd:
        return _label(cmd["label"], cmd.get("at"), cmd.get("pin", False))
    if "clear" in cmd:
        if cmd["clear"] is not True:
            raise AnnotateError('clear takes true, as in {"clear": true}')
        return Clear()
    raise AnnotateError(f"not an annotation command; known: {', '.join(COMMANDS)}")


def encode(mark: Mark) -> dict[str, Any]:
    """The wire message for `mark` (a dict for the control channel)."""
    if isinstance(mark, Point):
        return {"t": "mark", "k": "point", "p": list(mark.at)}
    if isinstance(mark, Stroke):
        msg: dict[str, Any] = {"t": "mark", "k": "draw", "p": [list(p) for p in mark.points], "pin": mark.pin}
        if mark.colour:
            msg["c"] = mark.colour
        return msg
    if isinstance(mark, Label):
        return {"t": "mark", "k": "label", "text": mark.text, "p": list(mark.at), "pin": mark.pin}
    return {"t": "mark", "k": "clear"}


def decode(msg: Mapping[str, Any]) -> Mark:
    """A received wire message (already a JSON object) as a mark; AnnotateError if malformed."""
    if len(json.dumps(msg, separators=(",", ":"))) > MAX_MESSAGE:
        raise AnnotateError("mark too large", "out-of-range")
    kind = msg.get("k")
    if kind == "point":
        return Point(_point(msg.get("p"), "point"))
    if kind == "draw":
        return _stroke(msg.get("p"), msg.get("c"), msg.get("pin", False))
    if kind == "label":
        return _label(msg.get("text"), msg.get("p"), msg.get("pin", False))
    if kind == "clear":
        return Clear()
    raise AnnotateError(f"unknown mark kind {str(kind)[:20]!r}")


# ---------------------------------------------------------------- what is on screen

@dataclass(frozen=True)
class Line:
    """A polyline in fractions of the screen."""
    points: tuple[Pt, ...]
    colour: str
    width: int


@dataclass(frozen=True)
class Text:
    text: str
    at: Pt
    colour: str


@dataclass(frozen=True)
class Dot:
    at: Pt
    colour: str
    name: str


Shape = Line | Text | Dot


@dataclass
class _Author:
    name: str
    colour: str
    trail: deque[tuple[float, Pt]] = field(default_factory=lambda: deque(maxlen=TRAIL_POINTS))
    marks: deque[tuple[float, Stroke | Label]] = field(default_factory=lambda: deque(maxlen=MAX_STROKES))
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(RATE, BURST))


class Board:
    """Everyone's marks and when each fades. The overlay asks for `scene(now)` when
    `changed` is set or `next_change(now)` comes due."""

    def __init__(self) -> None:
        self._authors: dict[str, _Author] = {}
        self._given = 0
        self.changed = False

    def colour_of(self, author: str) -> str | None:
        who = self._authors.get(author)
        return who.colour if who else None

    def join(self, author: str, name: str) -> str:
        """Make `author` known (its name shown by its pointer); returns its colour."""
        if author not in self._authors:
            self._authors[author] = _Author(name, PALETTE[self._given % len(PALETTE)])
            self._given += 1
        return self._authors[author].colour

    def leave(self, author: str) -> None:
        if self._authors.pop(author, None) is not None:
            self.changed = True

    def add(self, author: str, mark: Mark, now: float) -> None:
        """Put `mark` on the board; AnnotateError("rate-limited") past the author's rate."""
        who = self._authors.get(author)
        if who is None:
            raise AnnotateError("unknown author", "no-permission")
        if not who.bucket.allow(now):
            raise AnnotateError("too many marks at once", "rate-limited")
        if isinstance(mark, Point):
            who.trail.append((now, mark.at))
        elif isinstance(mark, Stroke):
            who.marks.append((now, Stroke(mark.points, mark.colour or who.colour, mark.pin)))
        elif isinstance(mark, Label):
            who.marks.append((now, mark))
        else:
            self.clear(author)
        self.changed = True

    def clear(self, author: str | None = None) -> None:
        """One author's marks, or everyone's."""
        for key, who in self._authors.items():
            if author is None or key == author:
                who.trail.clear()
                who.marks.clear()
        self.changed = True

    def _expire(self, now: float) -> None:
        for who in self._authors.values():
            while who.trail and now - who.trail[0][0] > TRAIL_SECONDS:
                who.trail.popleft()
                self.changed = True
            kept = deque(((t, m) for t, m in who.marks if m.pin or now - t <= FADE_SECONDS),
                         maxlen=MAX_STROKES)
            if len(kept) != len(who.marks):
                who.marks = kept
                self.changed = True

    def scene(self, now: float) -> list[Shape]:
        """What to draw now; clears `changed`."""
        self._expire(now)
        shapes: list[Shape] = []
        for who in self._authors.values():
            for _, mark in who.marks:
                if isinstance(mark, Stroke):
                    shapes.append(Line(mark.points, mark.colour or who.colour, 4))
                else:
                    shapes.append(Text(mark.text, mark.at, who.colour))
            if who.trail:
                points = tuple(p for _, p in who.trail)
                if len(points) > 1:
                    shapes.append(Line(points, who.colour, 3))
                shapes.append(Dot(points[-1], who.colour, who.name))
        self.changed = False
        return shapes

    def next_change(self, now: float) -> float | None:
        """When something next fades away (None: nothing will until a new mark)."""
        times = []
        for who in self._authors.values():
            if who.trail:
                times.append(who.trail[0][0] + TRAIL_SECONDS)
            times += [t + FADE_SECONDS for t, m in who.marks if not m.pin]
        return min(times) if times else None

    def empty(self) -> bool:
        return not any(who.trail or who.marks for who in self._authors.values())
