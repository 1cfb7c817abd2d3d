"""A team's shared store: PostgreSQL (psycopg 3), the same records, commands and search.

Search uses a generated tsvector with the 'simple' configuration (no stemming, like FTS5's
unicode61), a GIN index, ts_rank and ts_headline. plainto_tsquery reads a query as plain words,
so syntax characters are searched for, never obeyed."""

from __future__ import annotations

import json
from typing import Any

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

SCHEMA = """
CREATE TABLE IF NOT EXISTS rassist_records (
    id TEXT PRIMARY KEY, command TEXT NOT NULL, role TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]', peer TEXT NOT NULL DEFAULT '', started BIGINT NOT NULL,
    ended BIGINT, outcome TEXT NOT NULL DEFAULT '', entries INTEGER NOT NULL DEFAULT 0,
    head TEXT NOT NULL DEFAULT '', session TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS rassist_records_started ON rassist_records(started);
CREATE INDEX IF NOT EXISTS rassist_records_session ON rassist_records(session);
CREATE TABLE IF NOT EXISTS rassist_entries (
    rid BIGSERIAL PRIMARY KEY, record TEXT NOT NULL, seq INTEGER NOT NULL, ts BIGINT NOT NULL,
    kind TEXT NOT NULL, data TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL DEFAULT '',
    tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
    UNIQUE (record, seq));
CREATE INDEX IF NOT EXISTS rassist_entries_tsv ON rassist_entries USING GIN (tsv);
"""

_HEADLINE = f"StartSel={SNIPPET_START}, StopSel={SNIPPET_END}, MaxWords=20, MinWords=6, MaxFragments=1"



class PgStore:
    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError("RASSIST_TICKETS_URL needs psycopg: pip install 'rassist[postgres]'") from None
        self._psycopg = psycopg
        try:
            self.db = psycopg.connect(url, connect_timeout=5, autocommit=True)
            with self.db.transaction():
                self.db.execute("SELECT pg_advisory_xact_lock(7337001)")  # two first runs at once
                self.db.execute(SCHEMA)
        except psycopg.Error as exc:
            raise StoreError(f"cannot use the PostgreSQL record database: {_first_line(exc)}") from None

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            cur = self.db.execute(sql, args)
            return cur.fetchall() if cur.description else []
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL record database: {_first_line(exc)}") from None

    def create(self, info: RecordInfo) -> None:
        self._run(f"INSERT INTO rassist_records ({COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                  (info.id, info.command, info.role, info.title, json.dumps(info.tags), info.peer,
                   info.started, info.ended, info.outcome, info.entries, info.head, info.session))

    def append(self, record_id: str, entries: list[Entry], texts: list[str],
               summary: dict[str, object]) -> None:
        try:
            with self.db.transaction():
                with self.db.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO rassist_entries (record, seq, ts, kind, data, hash, body) "
                        "VALUES (%s,%s,%s,%s,%s,%s,%s)",
                        [(record_id, e.seq, e.ts, e.kind, json.dumps(e.data, ensure_ascii=False), e.hash,
                          text.replace("\x00", "")) for e, text in zip(entries, texts, strict=True)])
                sets, args = ["entries = entries + %s"], [len(entries)]
                if entries:
                    sets.append("head = %s")
                    args.append(entries[-1].hash)
                for key in SUMMARY:
                    if key in summary:
                        sets.append(f"{key} = %s")
                        value = summary[key]
                        args.append(json.dumps(value) if key == "tags" else value)
                self.db.execute(f"UPDATE rassist_records SET {', '.join(sets)} WHERE id = %s",
                                (*args, record_id))
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL record database: {_first_line(exc)}") from None

    def get(self, id_or_prefix: str) -> RecordInfo:
        prefix = record_prefix(id_or_prefix)
        rows = self._run(f"SELECT {COLUMNS} FROM rassist_records WHERE id LIKE %s ORDER BY id LIMIT 2",
                         (prefix + "%",))
        return one_record(rows, id_or_prefix, prefix)

    def records(self, limit: int = 50, tag: str | None = None) -> list[RecordInfo]:
        if tag:
            rows = self._run(f"SELECT {COLUMNS} FROM rassist_records WHERE tags::jsonb ? %s "
                             "ORDER BY started DESC LIMIT %s", (tag, limit))
        else:
            rows = self._run(f"SELECT {COLUMNS} FROM rassist_records ORDER BY started DESC LIMIT %s", (limit,))
        return [record_info(r) for r in rows]

    def entries(self, record_id: str) -> list[dict[str, object]]:
        rows = self._run("SELECT seq, ts, kind, data, hash FROM rassist_entries WHERE record = %s ORDER BY seq",
                         (record_id,))
        return [entry_dict(r) for r in rows]

    def last(self, record_id: str) -> tuple[int, str] | None:
        rows = self._run("SELECT seq, hash FROM rassist_entries WHERE record = %s ORDER BY seq DESC LIMIT 1", (record_id,))
        return (rows[0][0], rows[0][1]) if rows else None

    def search(self, query: str, limit: int = 20) -> list[Hit]:
        terms = fts_terms(query)
        if not terms:
            raise StoreError("search for what? give some words")
        rows = self._run(
            "SELECT m.record, r.title, m.seq, m.kind, m.ts, r.started, "
            "ts_headline('simple', m.body, m.q, %s), m.score FROM ("
            "  SELECT e.record, e.seq, e.kind, e.ts, e.body, q, ts_rank(e.tsv, q) AS score"
            "  FROM rassist_entries e, plainto_tsquery('simple', %s) q WHERE e.tsv @@ q"
            "  ORDER BY score DESC, e.rid DESC LIMIT %s) m "
            "JOIN rassist_records r ON r.id = m.record ORDER BY m.score DESC",
            (_HEADLINE, " ".join(terms), limit))
        return [Hit(record=r[0], title=r[1], seq=r[2], kind=r[3], at=max(0, r[4] - r[5]) / 1000, ts=r[4],
                    snippet=r[6], score=round(float(r[7]), 3)) for r in rows]

    def same_session(self, session: str, exclude: str) -> list[RecordInfo]:
        if not session:
            return []
        rows = self._run(f"SELECT {COLUMNS} FROM rassist_records WHERE session = %s AND id != %s",
                         (session, exclude))
        return [record_info(r) for r in rows]

    def prune(self, before_ms: int) -> list[str]:
        try:
            with self.db.transaction():
                rows = self.db.execute("DELETE FROM rassist_records WHERE started < %s RETURNING id",
                                       (before_ms,)).fetchall()
                ids = [r[0] for r in rows]
                self.db.execute("DELETE FROM rassist_entries WHERE record = ANY(%s)", (ids,))
        except self._psycopg.Error as exc:
            raise StoreError(f"PostgreSQL record database: {_first_line(exc)}") from None
        return ids

    def close(self) -> None:
        self.db.close()


def _first_line(exc: Any) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
