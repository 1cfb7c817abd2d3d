"""A shared shell in the TUI: the joiner's emulator screen drawn as styled text.

Redrawn at most DRAW_RATE times a second when output arrived (TuiHooks.term_updates moves);
when output floods in, each redraw draws a bounded slice of it first (see Emulator.catch_up)."""

from __future__ import annotations

from typing import Any

from rich.style import Style as RichStyle
from rich.text import Text
from textual.widget import Widget

from rassist.terminal.emulator import PLAIN, Style

DRAW_RATE = 20.0
DRAW_BUDGET = 16 * 1024  # about 20 ms of pyte: keys stay responsive while output floods in
_NAMES = {"brown": "yellow", "brightbrown": "bright_yellow", "bfightmagenta": "bright_magenta"}


def rich_colour(name: str) -> str | None:
    if name == "default":
        return None
    name = _NAMES.get(name, name)
    if name.startswith("bright") and not name.startswith("bright_"):
        return "bright_" + name[6:]
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return "#" + name
    return name


def rich_style(style: Style) -> RichStyle:
    if style == PLAIN:
        return RichStyle()
    try:
        return RichStyle(color=rich_colour(style.fg), bgcolor=rich_colour(style.bg), bold=style.bold,
                         italic=style.italics, underline=style.underscore, reverse=style.reverse,
                         strike=style.strikethrough)
    except Exception:  # noqa: BLE001 - an unknown colour name: draw it plain
        return RichStyle(bold=style.bold, reverse=style.reverse)


class TermView(Widget):
    DEFAULT_CSS = "TermView { width: 100%; height: 100%; overflow: hidden; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source: Any = None   # TuiHooks: .terminal (JoinTerminal), .term_updates
        self.drawn = -1

    def on_mount(self) -> None:
        self.set_interval(1 / DRAW_RATE, self._tick)

    def on_resize(self) -> None:
        emulator = self.source.terminal.emulator if self.source and self.source.terminal else None
        if emulator is not None and self.parent is not None:
            self.parent.show_terminal(emulator.cols, emulator.rows)  # says whether it is clipped now

    def _tick(self) -> None:
        source = self.source
        if source is None or source.terminal is None or source.terminal.emulator is None:
            return
        emulator = source.terminal.emulator
        if source.term_updates != self.drawn or emulator.pending:
            self.drawn = source.term_updates
            emulator.catch_up(DRAW_BUDGET)
            self.refresh()

    def render(self) -> Text:
        terminal = self.source.terminal if self.source is not None else None
        emulator = terminal.emulator if terminal is not None else None
        if emulator is None:
            return Text("")
        cursor = emulator.screen.cursor
        text = Text(no_wrap=True, overflow="crop", end="")
        # Only what the pane can show: a huge host terminal costs no more than a small one.
        width, height = max(self.size.width, 1), max(self.size.height, 1)
        rows = min(emulator.rows, height)
        for y in range(rows):
            line = Text(no_wrap=True, end="")
            for run, style in emulator.runs(y, width):
                line.append(run, rich_style(style))
            if y == cursor.y and not cursor.hidden and cursor.x < emulator.cols:
                line.pad_right(max(0, cursor.x + 1 - len(line)))
                line.stylize("reverse", cursor.x, cursor.x + 1)
            text.append(line)
            if y < rows - 1:
                text.append("\n")
        return text
