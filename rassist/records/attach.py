"""Putting a recorder on a command's event stream (host, join, send, receive)."""

from __future__ import annotations

from typing import Any

from rassist.records.recorder import Recorder


def escape(text: str) -> str:
    """rich's markup escape, loaded only for human output (--json never loads rich)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def attach(out: Any, command: str, role: str, name: str, title: str | None, tags: list[str],
           enabled: bool = True) -> Recorder | None:
    """A Recorder wrapping `out.emit` (an Output), or None with --no-record. Add it to the
    session's features (first) and call close() when the command ends."""
    if not enabled:
        return None
    from rassist.records import ocr

    clean_tags = sorted({t.strip() for value in tags for t in value.split(",") if t.strip()})
    recorder = Recorder(command, role, name, title=(title or "").strip(), tags=clean_tags, ocr=ocr.reader())
    out.emit = recorder.wrap(out.emit)
    renderers = getattr(out, "renderers", None)
    if isinstance(renderers, dict):
        renderers.setdefault("record", lambda f: (f"[dim]Recording this session as ticket {escape(str(f.get('id')))} "
                                                  "(rassist tickets show ID; --no-record to skip).[/]"))
        renderers.setdefault("record-warning", lambda f: f"[yellow]Warning:[/] {escape(str(f.get('message')))}")
        renderers.setdefault("note", lambda f: f"[dim]Noted in the ticket:[/] {escape(str(f.get('text')))}")
    return recorder
