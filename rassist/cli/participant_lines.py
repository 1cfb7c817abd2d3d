"""Plain-mode lines for a session with several helpers: invitations, arrivals, departures, the
participants list, group chat. Fields have already been made visible (protocol/display.py)."""

from __future__ import annotations

from typing import Any

from rassist.cli.feature_lines import Render
from rassist.cli.output import escape  # loads rich only when a line is printed


def _esc(text: object) -> str:
    return escape(str(text))


def _who(f: dict[str, Any]) -> str:
    pid = f.get("participant")
    return f"[bold]{_esc(f.get('peer', 'a helper'))}[/]" + (f" ({_esc(pid)})" if pid else "")


def _roster(f: dict[str, Any]) -> str | None:
    entries = f.get("participants") or []
    if len(entries) < 2:  # one helper: "Connected" said it all, as before there were several
        return None
    you = f.get("you")
    lines = ["In the session:"]
    for e in entries:
        mark = " [bold red]controls[/]" if e.get("controller") else ""
        me = " (you)" if e.get("id") == you else ""
        lines.append(f"  {_esc(e.get('id'))}: {_esc(e.get('name'))}{me} · {_esc(', '.join(e.get('permissions', [])))}{mark}")
    return "\n".join(lines)


def participant_renderers() -> dict[str, Render]:
    return {
        "invite": lambda f: (f"Invitation for one more helper: [bold green]{_esc(f.get('code'))}[/] "
                             f"(one use, valid {round(float(f.get('expires_in', 0)) / 60):g} min; "
                             f"/withdraw {_esc(f.get('code'))} to take it back)\n"
                             f"They run: [bold]rassist join {_esc(f.get('code'))}[/]"),
        "invite-closed": lambda f: None if f.get("reason") == "used" else
                                   f"Invitation {_esc(f.get('code'))} {_esc(f.get('reason'))}: it no longer works.",
        "joined": lambda f: f"{_who(f)} joined ({_esc(', '.join(f.get('granted', [])) or 'chat only')}).",
        "left": lambda f: f"{_who(f)} left ({_esc(f.get('reason'))})"
                          + (", control released" if f.get("released") else "") + ".",
        "participants": _roster,
        "reconnecting": lambda f: (f"[yellow]The link to {_who(f)} dropped: reconnecting "
                                   f"({_esc(f.get('seconds_left'))} s left)[/]"
                                   + (f": {_esc(f.get('message'))}" if f.get("message") else "")),
        "reconnected": lambda f: f"[green]Reconnected to {_who(f)}[/]: the session goes on.",
    }
