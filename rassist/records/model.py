"""What a record holds: its entries, its summary, and which session events become entries.

Pure: no I/O. Event fields come from our own session, but they carry peer text (chat, names,
file names): entries keep it as data, and every place that shows it escapes it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_TEXT = 100_000  # characters of one text field kept in an entry (OCR of a big screen fits)

# Events that are noise in a ticket (progress ticks, link figures, the pairing code: a secret).
SKIPPED = frozenset({"code", "waiting", "file-progress", "stats", "monitor", "file-lane"})


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: int  # milliseconds since the epoch
    kind: str
    data: dict[str, Any]
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "kind": self.kind, "data": self.data, "hash": self.hash}


@dataclass
class Item:
    """Something to record, before it has a place in the chain."""

    kind: str
    data: dict[str, Any]
    ts: int = field(default_factory=lambda: now_ms())
    summary: dict[str, Any] = field(default_factory=dict)
    snapshot: Path | None = None  # a PNG to copy into the record's folder (and read with OCR)


@dataclass
class RecordInfo:
    """A record's summary row: for listing and finding, not trusted (verify reads the entries)."""

    id: str
    command: str
    role: str
    started: int
    title: str = ""
    tags: list[str] = field(default_factory=list)
    peer: str = ""
    ended: int | None = None
    outcome: str = ""
    entries: int = 0
    head: str = ""
    session: str = ""  # shared by both sides' records of one session (from the DTLS fingerprints)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "command": self.command, "role": self.role, "title": self.title,
                "tags": list(self.tags), "peer": self.peer, "started": self.started, "ended": self.ended,
                "outcome": self.outcome, "entries": self.entries, "head": self.head, "session": self.session}


@dataclass(frozen=True)
class Hit:
    """One search result: where the words matched and when in the session."""

    record: str
    title: str
    seq: int
    kind: str
    at: float  # seconds since the record started
    ts: int
    snippet: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "title": self.title, "seq": self.seq, "kind": self.kind,
                "at": self.at, "ts": self.ts, "snippet": self.snippet, "score": self.score}


def now_ms() -> int:
    return int(time.time() * 1000)


def _clip(value: Any, limit: int = MAX_TEXT) -> Any:
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, dict):
        return {str(k)[:200]: _clip(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clip(v, limit) for v in list(value)[:1000]]
    if isinstance(value, float) and not math.isfinite(value):  # no canonical JSON for these
        return None
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:limit]


def entry_for_event(event: str, fields: dict[str, Any], me: str) -> tuple[str, dict[str, Any]] | None:
    """The (kind, data) an event becomes, or None if it is not kept."""
    if event in SKIPPED:
        return None
    data = _clip(dict(fields))
    if event == "chat":
        data["from"] = me if data.get("from") == "me" else data.get("from", "")
        data["mine"] = fields.get("from") == "me"
    if event == "closed":
        return "ended", data
    return event, data


def searchable(kind: str, data: dict[str, Any]) -> str:
    """The text of an entry that full-text search sees."""
    parts: list[Any] = []
    if kind == "chat":
        parts = [data.get("from"), data.get("text")]
    elif kind in ("note", "screen-text", "text"):
        parts = [data.get("text"), data.get("by")]
    elif kind.startswith("file-") or kind == "transfer-done":
        parts = [data.get("name"), data.get("path"), data.get("sha256"), *(data.get("names") or [])]
    elif kind == "start":
        parts = [data.get("title"), *(data.get("tags") or []), data.get("name"), data.get("command")]
    elif kind in ("connected", "request"):
        parts = [data.get("peer")]
    elif kind == "error":
        parts = [data.get("kind"), data.get("message")]
    elif kind == "snapshot":
        parts = [data.get("file"), data.get("source")]
    return " ".join(dict.fromkeys(str(p) for p in parts if p))  # each piece once
