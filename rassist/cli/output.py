"""Events out: JSON lines on stdout with --json, readable lines on stderr otherwise."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from rassist.protocol.display import visible_event
from rassist.transport.route import summary

if TYPE_CHECKING:
    from rich.console import Console


def escape(text: str) -> str:
    """rich's markup escape, loading rich (~20 ms) only when there is human text to print:
    with --json it never loads."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class Output:
    def __init__(self, json_mode: bool, stdout: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self._stdout = stdout or sys.stdout
        self._console: Console | None = None
        self.renderers: dict[str, Any] = {}  # event name -> callable(fields) -> str | None, for features

    @property
    def console(self) -> Console:
        """rich on stderr, made on first use (see escape)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=sys.stderr, highlight=False)
        return self._console

    @console.setter
    def console(self, console: Console) -> None:
        self._console = console

    def emit(self, event: str, **fields: Any) -> None:
        if self.json_mode:
            self._stdout.write(_json_line({"event": event, **fields}))
            self._stdout.flush()
            return
        # Fields carry peer text (names, chat, file names, reasons): no escape reaches the terminal.
        fields = visible_event(event, fields)
        line = self.renderers[event](fields) if event in self.renderers else _human(event, fields)
        if line:
            self.console.print(line)

    def say(self, text: str) -> None:
        """Human-only text (hints, prompts); never in the JSON stream."""
        if not self.json_mode:
            self.console.print(text)


def _json_line(obj: dict[str, Any]) -> str:
    line = json.dumps(obj, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a peer: \u escapes keep the line valid
        line = json.dumps(obj)
    return line + "\n"


def _human(event: str, f: dict[str, Any]) -> str | None:
    stamp = time.strftime("%H:%M")
    if event == "code":
        code = escape(f["code"])
        return (f"Your code: [bold green]{code}[/]\n"
                f"On the other machine run: [bold]rassist join {code}[/]")
    if event == "waiting":
        return {"joiner": "Waiting for someone to join...",
                "approval": "Waiting for the host to approve...",
                "host": "Waiting for the host to start (same code)..."}.get(f.get("for", ""), None)
    if event == "connected":
        route = f.get("route", {})
        how = escape(summary(route))
        if "remote_address" in route:
            how += f", {escape(str(route.get('local', '?')))}/{escape(str(route.get('remote', '?')))} to " \
                   f"{escape(str(route['remote_address']))}"
        return (f"[green]Connected[/] to [bold]{escape(f['peer'])}[/]: {how}; "
                f"allowed: {', '.join(f.get('granted', [])) or 'chat only'}.\n"
                "Type to chat; /quit to leave.")
    if event == "chat":
        who = "you" if f["from"] == "me" else f["from"]
        if f["from"] == "me":
            return None  # the person just typed it; echoing it again is noise
        return f"[dim]{stamp}[/] [bold cyan]{escape(who)}[/]: {escape(f['text'])}"
    if event == "request":
        return None  # the approval prompt says it
    if event in ("participants", "joined", "left", "invite", "invite-closed"):  # several helpers
        from rassist.cli.participant_lines import participant_renderers

        return participant_renderers()[event](f)
    if event == "error":
        return f"[red]Error:[/] {escape(f.get('message', ''))}"
    if event == "closed":
        reason = {"quit": "you left", "peer-left": "the other side left",
                  "shell-exited": "the shared shell ended", "removed": "the host removed you"}.get(f.get("reason", ""))
        return f"Session closed: {reason}." if reason else None  # after an error, the error said it all
    if event == "screen":
        dims = f"{f.get('width')}x{f.get('height')}"
        return {"sharing": f"Sharing monitor {f.get('monitor')} ({dims}).",
                "receiving": f"Receiving the host's screen ({dims}).",
                "unavailable": f"[yellow]No screen to share[/] ({escape(str(f.get('message', '')))}); "
                               "chat and files still work."}.get(str(f.get("state")))
    if event == "snapshot":
        return f"Saved the host's screen ({f.get('width')}x{f.get('height')}) to {escape(str(f.get('path')))}."
    if event == "recorded":
        return f"Recorded {f.get('frames')} frame(s) to {escape(str(f.get('path')))}."
    if event == "connection":
        return f"[dim]Connection {escape(str(f.get('state')))}.[/]"
    # Anything else still reads as words, never as a JSON dict.
    details = ", ".join(f"{escape(str(k))} {escape(str(v))}" for k, v in f.items())
    return f"[dim]{escape(event)}{': ' + details if details else ''}[/]"
