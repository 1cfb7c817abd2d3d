"""The chat pane: history with timestamps and system lines, and an input line."""

from __future__ import annotations

import time
from collections import deque

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, RichLog

MAX_CHAT = 4000  # what Session.chat keeps; longer input would be cut silently


def stamp(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


class ChatPane(Vertical):
    DEFAULT_CSS = """
    ChatPane { height: 1fr; }
    ChatPane > RichLog { height: 1fr; background: $surface; scrollbar-size-vertical: 1; }
    ChatPane > Input { height: 3; }
    """

    class Send(Message):
        """The user typed a line and pressed Enter."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.plain: deque[str] = deque(maxlen=2000)  # the lines as plain text, for tests

    def compose(self) -> ComposeResult:
        # Bounded like the event log: a peer flooding chat must not grow the app without end.
        yield RichLog(id="chat-log", wrap=True, markup=False, min_width=20, max_lines=2000)
        yield Input(placeholder="Type a message, Enter sends", id="chat-input", max_length=MAX_CHAT)

    @property
    def log_widget(self) -> RichLog:
        return self.query_one("#chat-log", RichLog)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.post_message(self.Send(text))
        event.input.clear()

    def add_message(self, at: float, who: str, text: str, mine: bool) -> None:
        colour = "green" if mine else "cyan"
        self._write(Text.from_markup(f"[dim]{stamp(at)}[/] [bold {colour}]{escape(who)}[/]: {escape(text)}"))

    def add_system(self, at: float, markup: str) -> None:
        self._write(Text.from_markup(f"[dim]{stamp(at)}[/] [italic yellow]{markup}[/]"))

    def _write(self, line: Text) -> None:
        self.plain.append(line.plain)
        self.log_widget.write(line)
