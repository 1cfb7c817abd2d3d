"""Plain-mode lines for the remote-control and annotation events (media/control.py,
media/annotate.py). Output.renderers takes event name -> fields -> line (rich markup) or None;
the --json stream is unaffected. Fields have already been made visible (protocol/display.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rassist.cli.output import escape

# The host's control indicator is loud on purpose: someone else is driving this machine.
Render = Callable[[dict[str, Any]], "str | None"]


def _esc(text: object) -> str:
    return escape(str(text))


def _to(f: dict[str, Any]) -> str:
    """The helper's id for a command that names it ("/grant control p2"), when it has one."""
    pid = f.get("participant")
    return f" control {_esc(pid)}" if pid else ""


def host_renderers() -> dict[str, Render]:
    def control(f: dict[str, Any]) -> str | None:
        peer = _esc(f.get("peer", "the helper"))
        return {
            "granted": f"[bold white on red] {peer} HAS CONTROL of your mouse and keyboard [/] "
                       "type /revoke to take it back, Ctrl-C to end the session",
            "revoked": f"[bold green]You have control again[/]: {peer} can no longer use your mouse and keyboard.",
            "declined": f"Declined {peer}'s request for control.",
            "paused": f"[bold]You are using the mouse or keyboard[/]: input from {peer} is paused for a moment.",
            "resumed": f"Input from {peer} goes through again.",
        }.get(f.get("state", ""))

    return {
        "control": control,
        "control-request": lambda f: f"[bold]{_esc(f.get('peer'))}[/] asks to control your mouse and "
                                     f"keyboard: type /grant{_to(f)} to allow (and /revoke{_to(f)} at any time).",
        "input-refused": lambda f: f"[yellow]Dropped {f.get('count')} input event(s) from "
                                   f"{_esc(f.get('peer'))}[/] ({_esc(f.get('reason'))}): {_esc(f.get('message'))}",
        "input-released": lambda f: f"Released {', '.join(map(_esc, f.get('released', [])))} ({_esc(f.get('reason'))}).",
    }


def join_renderers() -> dict[str, Render]:
    def control(f: dict[str, Any]) -> str | None:
        peer = _esc(f.get("peer", "the host"))
        reason = f" ({_esc(f['reason'])})" if f.get("reason") else ""
        return {
            "granted": f"[bold green]You have control[/] of {peer}'s mouse and keyboard.",
            "revoked": f"[yellow]{peer} took control back[/]{reason}.",
            "declined": f"{peer} declined control{reason}.",
            "requested": f"Asked {peer} for control...",
            "paused": f"[yellow]Paused[/]: the person at {peer}'s machine is using the mouse or keyboard; "
                      "your input is dropped until they stop (about a second).",
            "resumed": f"Control of {peer}'s mouse and keyboard is back.",
        }.get(f.get("state", ""))

    return {"control": control}


def annotate_renderers() -> dict[str, Render]:
    """Pointing and drawing, both sides."""

    def annotate(f: dict[str, Any]) -> str | None:
        peer = _esc(f.get("peer", "the helper"))
        reason = f" ({_esc(f['reason'])})" if f.get("reason") else ""
        return {
            "granted": f"{peer} may point and draw on the shared screen (/revoke annotate to stop it).",
            "revoked": f"Pointing and drawing is off for {peer}{reason}.",
            "unavailable": f"Pointing and drawing is not available{reason}.",
        }.get(str(f.get("state")))

    def mark(f: dict[str, Any]) -> str | None:
        what = {"draw": "drew on", "label": "put a label on", "clear": "cleared the marks on"}.get(str(f.get("kind")))
        peer = "You" if f.get("peer") == "me" else _esc(f.get("peer"))
        return f"{peer} {what} the screen." if what else None

    return {"annotate": annotate, "mark": mark,
            "mark-refused": lambda f: f"[yellow]Refused {f.get('count')} mark(s)[/] from "
                                      f"{_esc(f.get('peer'))}: {_esc(f.get('message'))}"}
