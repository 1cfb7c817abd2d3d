"""A terminal emulator (pyte) that keeps up with any amount of output in bounded time and memory.

pyte draws about 1 MB/s in pure Python, far slower than `cat` of a big file. So output is
appended to a pending buffer (cheap) and fed to pyte only when someone looks: the viewer's frame
timer, a late joiner's repaint. When more than `backlog` bytes wait, the oldest are dropped at a
line boundary: a screen only shows its last rows, and the mode changes in the dropped part
(scroll region, cursor visibility, colours) are kept so the tail lands in the right state.

The repaint and the runs of cells are built from the emulator's state, never from the peer's
bytes: what reaches a real terminal is only our own escape sequences and printable text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import pyte
from wcwidth import wcwidth

BACKLOG = 64 * 1024
# Sequences in dropped output whose effect outlives the text they came with.
_LASTING = re.compile(rb"\x1b\[\??[0-9;]*[hlr]|\x1b\[[0-9;:]*m|\x1b[()][0-9A-Za-z]")
_KEEP_LASTING = 64

_NAMED = {"black": 0, "red": 1, "green": 2, "brown": 3, "blue": 4, "magenta": 5, "cyan": 6, "white": 7}


@dataclass(frozen=True)
class Style:
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    reverse: bool = False
    strikethrough: bool = False


PLAIN = Style()


def safe_text(text: str) -> str:
    """Cell text as it may be shown: control and format characters (C0, C1, bidi overrides)
    become '?' so nothing from the peer can act on the viewer's terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or unicodedata.category(ch) == "Mn" else "?" for ch in text)


_ALTERNATE = {47, 1047, 1049}


class _Screen(pyte.Screen):
    """pyte without the alternate screen would leave vim's last picture under the prompt."""

    _saved: tuple[dict[int, dict[int, object]], int, int] | None = None

    def set_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and _ALTERNATE & set(modes) and self._saved is None:
            self._saved = ({y: dict(row) for y, row in self.buffer.items()}, self.cursor.x, self.cursor.y)
            self.erase_in_display(2)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and _ALTERNATE & set(modes) and self._saved is not None:
            rows, x, y = self._saved
            self._saved = None
            self.buffer.clear()
            for number, row in rows.items():
                if number < self.lines:
                    self.buffer[number].update({k: v for k, v in row.items() if k < self.columns})
            self.cursor.x, self.cursor.y = min(x, self.columns - 1), min(y, self.lines - 1)
            self.dirty.update(range(self.lines))
        super().reset_mode(*modes, **kwargs)


class Emulator:
    def __init__(self, cols: int, rows: int, backlog: int = BACKLOG) -> None:
        self.screen = _Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.backlog = backlog
        self._pending = bytearray()
        self.skipped = 0   # bytes dropped without being drawn (output faster than pyte)
        self.fed = 0       # bytes drawn

    @property
    def cols(self) -> int:
        return self.screen.columns

    @property
    def rows(self) -> int:
        return self.screen.lines

    @property
    def pending(self) -> int:
        return len(self._pending)

    def feed(self, data: bytes) -> None:
        """Take output; draws nothing yet (see catch_up)."""
        self._pending += data
        if len(self._pending) > 2 * self.backlog:  # trim rarely: each trim copies the backlog
            self._trim()

    def _trim(self) -> None:
        cut = len(self._pending) - self.backlog
        newline = self._pending.find(b"\n", cut)
        cut = newline + 1 if 0 <= newline < cut + self.backlog // 2 else cut
        dropped = bytes(self._pending[:cut])
        del self._pending[:cut]
        self.skipped += len(dropped)
        lasting = _LASTING.findall(dropped)[-_KEEP_LASTING:]
        if lasting:
            self.stream.feed(b"".join(lasting))

    def catch_up(self, limit: int | None = None) -> bool:
        """Draw up to `limit` pending bytes (all if None); True once nothing is pending."""
        if not self._pending:
            return True
        take = len(self._pending) if limit is None else min(limit, len(self._pending))
        chunk = bytes(self._pending[:take])
        del self._pending[:take]
        self.stream.feed(chunk)
        self.fed += take
        return not self._pending

    def reset(self, cols: int, rows: int, repaint: bytes) -> None:
        """Start over from a repaint (a SCREEN frame): what was pending is superseded. The
        repaint is drawn later, like any output (a big one must not stall the caller)."""
        self._pending[:] = repaint
        self.screen.reset()
        self.screen.resize(rows, cols)

    def resize(self, cols: int, rows: int) -> None:
        self.catch_up()
        self.screen.resize(rows, cols)

    # ------------------------------------------------------------ reading the screen

    def runs(self, y: int, width: int | None = None) -> Iterator[tuple[str, Style]]:
        """Row y (its first `width` cells) as runs of (safe text, style); a wide character's
        second cell is skipped."""
        line = self.screen.buffer[y]
        text: list[str] = []
        style: Style | None = None
        for x in range(self.screen.columns if width is None else min(width, self.screen.columns)):
            char = line[x]
            if char.data == "":  # the right half of a wide character
                continue
            cell = Style(char.fg, char.bg, char.bold, char.italics, char.underscore, char.reverse,
                         char.strikethrough)
            if cell != style and text:
                yield "".join(text), style or PLAIN
                text = []
            style = cell
            text.append(safe_text(char.data) or " ")
        if text:
            yield "".join(text), style or PLAIN

    def lines(self) -> list[str]:
        """The screen as plain text, one string per row, trailing blanks removed."""
        self.catch_up()
        return ["".join(text for text, _ in self.runs(y)).rstrip() for y in range(self.rows)]

    def repaint(self) -> bytes:
        """ANSI that draws this screen on a blank terminal of the same size: for a late joiner."""
        self.catch_up()
        out = [b"\x1b[0m\x1b[H\x1b[2J"]
        for y in range(self.rows):
            out.append(b"\x1b[%d;1H" % (y + 1))
            out.append(self.row_ansi(y))
        cursor = self.screen.cursor
        out.append(b"\x1b[0m\x1b[%d;%dH" % (cursor.y + 1, cursor.x + 1))
        out.append(b"\x1b[?25l" if cursor.hidden else b"\x1b[?25h")
        return b"".join(out)

    def row_ansi(self, y: int, width: int | None = None) -> bytes:
        """Row y as SGR-coloured text, clipped to `width` columns, ending in a reset."""
        out: list[bytes] = []
        left = self.cols if width is None else width
        runs = list(self.runs(y, width))
        while runs and runs[-1][1] == PLAIN and not runs[-1][0].strip():
            runs.pop()  # blank tail: the row was erased before it is drawn
        if runs and runs[-1][1] == PLAIN:
            runs[-1] = (runs[-1][0].rstrip(), PLAIN)
        for text, style in runs:
            if left <= 0:
                break
            # A full row is exactly what pyte holds (even its wide character in the last column);
            # clipping is for a narrower real terminal.
            piece, left = (text, left) if width is None else _clip(text, left)
            out.append(sgr(style) + piece.encode("utf-8", "replace"))
        out.append(b"\x1b[0m")
        return b"".join(out)


def _clip(text: str, columns: int) -> tuple[str, int]:
    """The part of `text` that fits in `columns` cells (combining marks take none, wide
    characters two), and the columns left."""
    if len(text) <= columns and text.isascii():
        return text, columns - len(text)
    kept: list[str] = []
    for ch in text:
        width = max(wcwidth(ch), 0)
        if width > columns:
            break
        kept.append(ch)
        columns -= width
    return "".join(kept), columns


def sgr(style: Style) -> bytes:
    codes = ["0"]
    for flag, code in ((style.bold, "1"), (style.italics, "3"), (style.underscore, "4"),
                       (style.reverse, "7"), (style.strikethrough, "9")):
        if flag:
            codes.append(code)
    codes += _colour(style.fg, 30)
    codes += _colour(style.bg, 40)
    return b"\x1b[" + ";".join(codes).encode() + b"m"


def _colour(name: str, base: int) -> list[str]:
    if name == "default":
        return []
    if name.startswith(("bright", "bfight")):  # pyte spells background 105 "bfightmagenta"
        number = _NAMED.get(name[6:])
        return [str(base + 60 + number)] if number is not None else []
    if name in _NAMED:
        return [str(base + _NAMED[name])]
    if len(name) == 6:
        try:
            r, g, b = int(name[:2], 16), int(name[2:4], 16), int(name[4:], 16)
        except ValueError:
            return []
        return [str(base + 8), "2", str(r), str(g), str(b)]
    return []
