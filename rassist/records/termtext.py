"""What a shared terminal showed, for the ticket's full-text search. Pure.

The recorder offers the terminal's screen (plain text, one string per row) every few seconds.
A screen is kept once it has settled (the same in two samples in a row: a command still
printing is read when it is done) and only for its rows that the last kept screen did not
have, so a prompt or a status line that stays put is stored once, not every few seconds."""

from __future__ import annotations

MAX_TEXT = 16_000  # characters kept of one screen (a 300-column, 50-row terminal fits)


class TerminalText:
    def __init__(self) -> None:
        self._previous: tuple[str, ...] | None = None  # the last sample
        self._kept: frozenset[str] = frozenset()  # the rows of the last screen kept

    def offer(self, lines: list[str]) -> str | None:
        """The text worth keeping from this sample, or None."""
        screen = tuple(line.rstrip() for line in lines)
        settled = screen == self._previous
        self._previous = screen
        if not settled:
            return None
        rows = [line for line in screen if line.strip()]
        new = [line for line in rows if line not in self._kept]
        if not new:
            return None
        self._kept = frozenset(rows)
        return "\n".join(new)[:MAX_TEXT]
