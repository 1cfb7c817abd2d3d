"""The embedded store: one SQLite file, entries indexed by FTS5 (bm25 ranking, snippets)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from rassist.records.model import Entry, Hit, RecordInfo
from rassist.records.store import (
    COLUMNS,
    SNIPPET_END,
    SNIPPET_START,
    SUMMARY,
    StoreError,
    entry_dict,
    fts_terms,
    one_record,
    record_info,
    record_prefix,
)

RANKED = 5_000  # matches of one query that are ranked (the newest); rarer words: all of them
BUSY_MS = 2000  # a locked database waits this long, then the write is retried later

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, command TEXT NOT NULL, role TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]', peer TEXT NOT NULL DEFAULT '', started INTEGER NOT NULL,
    ended INTEGER, outcome TEXT NOT NULL DEFAULT '', entries INTEGER NOT NULL DEFAULT 0,
    head TEXT NOT NULL DEFAULT '', session TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS records_started ON records(started);
CREATE INDEX IF NOT EXISTS records_session ON records(session);
CREATE TABLE IF NOT EXISTS entries (
    rid INTEGER PRIMARY KEY, record TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
    kind TEXT NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE(record, seq));
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
    text, tokenize = 'unicode61 remove_diacritics 2');
"""





def match_expression(query: str) -> str:
    """Every word as a quoted FTS5 string (quotes doubled): all must occur, syntax is text."""
    terms = fts_terms(query)
    if not terms:
        raise StoreError("search for what? give some words")
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=BUSY_MS / 1000, isolation_level=None,
                                      check_same_thread=False)  # one user at a time, by design
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the record database {path}: {exc}") from None

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"record database {self.path}: {exc}") from None

    def create(self, info: RecordInfo) -> None:
        self._run(f"INSERT INTO records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                  (info.id, info.command, info.role, info.title, json.dumps(info.tags), info.peer,
                   info.started, info.ended, info.outcome, info.entries, info.head, info.session))

    def append(self, record_id: str, entries: list[Entry], texts: list[str],
               summary: dict[str, object]) -> None:
        try:
            with self.db:  # one transaction (the context manager commits or rolls back)
                self.db.execute("BEGIN IMMEDIATE")
                for entry, text in zip(entries, texts, strict=True):
                    cur = self.db.execute(
                        "INSERT INTO entries (record, seq, ts, kind, data, hash) VALUES (?,?,?,?,?,?)",
                        (record_id, entry.seq, entry.ts, entry.kind,
                         json.dumps(entry.data, ensure_ascii=False), entry.hash))
                    if text:
                        self.db.execute("INSERT INTO entries_fts (rowid, text) VALUES (?, ?)",
                                        (cur.lastrowid, text))
                sets, args = ["entries = entries + ?"], [len(entries)]
                if entries:
                    sets.append("head = ?")
                    args.append(entries[-1].hash)
                for key in SUMMARY:
                    if key in summary:
                        sets.append(f"{key} = ?")
                        value = summary[key]
                        args.append(json.dumps(value) if key == "tags" else value)
                self.db.execute(f"UPDATE records SET {', '.join(sets)} WHERE id = ?", (*args, record_id))
        except sqlite3.Error as exc:
            raise StoreError(f"record database {self.path}: {exc}") from None

    def get(self, id_or_prefix: str) -> RecordInfo:
        prefix = record_prefix(id_or_prefix)
        rows = self._run(f"SELECT {COLUMNS} FROM records WHERE id >= ? AND id < ? LIMIT 2",
                         (prefix, prefix + "g"))
        return one_record(rows, id_or_prefix, prefix)

    def records(self, limit: int = 50, tag: str | None = None) -> list[RecordInfo]:
        if tag:
            rows = self._run(f"SELECT {COLUMNS} FROM records WHERE EXISTS (SELECT 1 FROM json_each(tags) "
                             "WHERE value = ?) ORDER BY started DESC LIMIT ?", (tag, limit))
        else:
            rows = self._run(f"SELECT {COLUMNS} FROM records ORDER BY started DESC LIMIT ?", (limit,))
        return [record_info(r) for r in rows]

    def entries(self, record_id: str) -> list[dict[str, object]]:
        rows = self._run("SELECT seq, ts, kind, data, hash FROM entries WHERE record = ? ORDER BY seq",
                         (record_id,))
        return [entry_dict(r) for r in rows]

    def last(self, record_id: str) -> tuple[int, str] | None:
        rows = self._run("SELECT seq, hash FROM entries WHERE record = ? ORDER BY seq DESC LIMIT 1", (record_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        match = match_expression(query)
        # A word found everywhere would rank every one of its rows: rank its newest RANKED only.
        cutoff = self._run("SELECT rowid FROM entries_fts WHERE entries_fts MATCH ? ORDER BY rowid DESC "
                           "LIMIT 1 OFFSET ?", (match, RANKED))
        rows = self._run(
            "SELECT e.record, r.title, e.seq, e.kind, e.ts, r.started, "
            f"snippet(entries_fts, 0, '{SNIPPET_START}', '{SNIPPET_END}', '…', 12), f.rank "
            "FROM entries_fts f JOIN entries e ON e.rid = f.rowid JOIN records r ON r.id = e.record "
            "WHERE entries_fts MATCH ? AND f.rowid >= ? ORDER BY f.rank LIMIT ?",
            (match, cutoff[0][0] if cutoff else 0, limit))
        return [Hit(record=r[0], title=r[1], seq=r[2], kind=r[3], at=max(0, r[4] - r[5]) / 1000,
                    ts=r[4], snippet=r[6], score=round(-r[7], 3)) for r in rows]

    def same_session(self, session: str, exclude: str) -> list[RecordInfo]:
        if not session:
            return []
        rows = self._run(f"SELECT {COLUMNS} FROM records WHERE session = ? AND id != ?", (session, exclude))
        return [record_info(r) for r in rows]

    def prune(self, before_ms: int) -> list[str]:
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                ids = [r[0] for r in self.db.execute("SELECT id FROM records WHERE started < ?", (before_ms,))]
                for rid in ids:
                    self.db.execute("DELETE FROM entries_fts WHERE rowid IN "
                                    "(SELECT rid FROM entries WHERE record = ?)", (rid,))
                    self.db.execute("DELETE FROM entries WHERE record = ?", (rid,))
                    self.db.execute("DELETE FROM records WHERE id = ?", (rid,))
        except sqlite3.Error as exc:
            raise StoreError(f"record database {self.path}: {exc}") from None
        return ids

    def close(self) -> None:
        self.db.close()
