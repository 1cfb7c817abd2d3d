"""Entries as one line of plain text each (for show, Markdown and HTML; callers escape)."""

from __future__ import annotations

import time
from typing import Any

from rassist.records.model import RecordInfo


def printable(text: Any, limit: int = 2000) -> str:
    """Peer text made safe to show: control characters (escape sequences!) become U+FFFD."""
    value = str(text)[:limit]
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in value)


def clock(ms: int | None) -> str:
    if ms is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def offset(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def _size(n: Any) -> str:
    from rich.filesize import decimal

    return decimal(int(n)) if isinstance(n, int) else "?"


def describe(kind: str, data: Any) -> str:
    """What happened, in a few words."""
    if not isinstance(data, dict):
        return f"{kind}: (corrupt entry)"
    d = data
    if kind == "start":
        tags = ", ".join(str(t) for t in d.get("tags") or [])
        return (f"{d.get('command')} started by {d.get('name')} on {d.get('machine')}"
                + (f" - {d.get('title')}" if d.get("title") else "") + (f" [{tags}]" if tags else ""))
    if kind == "chat":
        return f"{d.get('from')}: {d.get('text')}"
    if kind == "note":
        return f"note by {d.get('by')}: {d.get('text')}"
    if kind == "connected":
        route = d.get("route") or {}
        how = f"{route.get('local', '?')}/{route.get('remote', '?')}" if isinstance(route, dict) else "?"
        granted = ", ".join(str(g) for g in d.get("granted") or []) or "chat only"
        return f"connected to {d.get('peer')} over {how}; allowed: {granted}"
    if kind == "request":
        return f"{d.get('peer')} asked for: {', '.join(str(w) for w in d.get('wants') or []) or 'chat only'}"
    if kind == "control":
        return f"control {d.get('state')} ({d.get('peer')})" + (f": {d.get('reason')}" if d.get("reason") else "")
    if kind == "annotate":
        return f"annotation {d.get('state')} ({d.get('peer')})" + (f": {d.get('reason')}" if d.get("reason") else "")
    if kind == "mark":
        return f"{d.get('peer')} drew a {d.get('kind')} on the screen"
    if kind == "control-request":
        return f"{d.get('peer')} asked for control"
    if kind == "input":
        return f"{d.get('events')} input event(s) from the controller (count only, not what was typed)"
    if kind == "file-offer" or kind == "file-offered":
        verb = "offered by " + str(d.get("peer")) if kind == "file-offer" else "offered to " + str(d.get("peer"))
        return f"{d.get('name')} ({d.get('files')} file(s), {_size(d.get('size'))}) {verb}"
    if kind == "file-done":
        verb = "received" if d.get("direction") == "receive" else "sent"
        return f"{verb} {d.get('path')} ({_size(d.get('size'))}, sha256 {d.get('sha256')})"
    if kind == "transfer-done":
        return f"transfer {d.get('id')} done: {d.get('files')} file(s), {_size(d.get('bytes'))}"
    if kind == "file-accepted":
        return f"accepted transfer {d.get('id')}" + (f" into {d.get('target')}" if d.get("target") else "")
    if kind == "file-declined":
        return f"transfer {d.get('id')} declined"
    if kind == "file-skipped":
        return f"skipped {d.get('path')}: {d.get('reason')}"
    if kind == "text":
        return f"text from {d.get('peer')}: {d.get('text')}"
    if kind == "snapshot":
        if d.get("error"):
            return f"snapshot {d.get('source')} ({d.get('error')})"
        return f"snapshot {d.get('file')} ({d.get('width')}x{d.get('height')}, sha256 {d.get('sha256')})"
    if kind == "screen-text":
        text = " ".join(str(d.get("text", "")).split())
        return f"screen text ({d.get('file')}): {text[:300]}" + ("…" if len(text) > 300 else "")
    if kind == "error":
        return f"error ({d.get('kind')}): {d.get('message')}"
    if kind == "ended":
        return f"ended: {d.get('reason')}"
    if kind == "peer-head":
        return f"peer record {d.get('record')} confirmed its chain head at entry {d.get('seq')}: {str(d.get('head'))[:16]}…"
    if kind == "link":
        return f"session link {d.get('session')}"
    if kind == "lost":
        return f"{d.get('entries')} entries were lost (the store failed: {d.get('reason')})"
    if kind == "screen":
        return f"screen {d.get('state')} ({d.get('width')}x{d.get('height')})"
    if kind == "recorded":
        return f"screen recorded to {d.get('path')} ({d.get('frames')} frames)"
    fields = ", ".join(f"{k}={v}" for k, v in d.items())
    return f"{kind}: {fields}"


def heading(info: RecordInfo) -> str:
    return info.title or f"{info.command} with {info.peer or 'nobody'}"
