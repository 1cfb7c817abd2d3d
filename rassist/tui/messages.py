"""Session events as Textual messages: the session's `emit` posts one per event."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class SessionEvent(Message):
    """One event, with the same name and fields as the --json stream, and when it happened."""

    def __init__(self, name: str, fields: dict[str, Any], at: float) -> None:
        super().__init__()
        self.name = name
        self.fields = fields
        self.at = at
