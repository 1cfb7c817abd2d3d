"""The event log: connection states, the ICE pair, permissions, errors, one timestamped line each."""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.widgets import RichLog


class EventLog(RichLog):
    DEFAULT_CSS = """
    EventLog { height: 1fr; background: $surface; scrollbar-size-vertical: 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(wrap=True, markup=False, min_width=20, max_lines=2000, **kwargs)  # type: ignore[arg-type]
        self.plain: deque[str] = deque(maxlen=2000)  # the lines as plain text, for tests

    def add(self, at: float, markup: str) -> None:
        line = Text.from_markup(f"[dim]{time.strftime('%H:%M:%S', time.localtime(at))}[/] {markup}")
        self.plain.append(line.plain)
        self.write(line)
