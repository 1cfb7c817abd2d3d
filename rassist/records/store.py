"""Where records live: the store interface, and picking one from the environment.

SQLite with FTS5 under RASSIST_DATA_DIR (default: the XDG data directory) unless
RASSIST_TICKETS_URL names a PostgreSQL database that a team shares. Snapshot files live in a
directory beside it (RASSIST_TICKETS_FILES, default DATA_DIR/files), one folder per record.
A store object belongs to the thread that opened it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Protocol

from rassist.errors import RassistError
from rassist.records.model import Entry, Hit, RecordInfo

SNIPPET_START, SNIPPET_END = "«", "»"

# The columns of a record row, in the order record_info() reads them, for both SQL stores.
COLUMNS = "id, command, role, title, tags, peer, started, ended, outcome, entries, head, session"
SUMMARY = ("title", "tags", "peer", "ended", "outcome", "session")  # what append() may update


def record_info(row: tuple) -> RecordInfo:
    """A record row (COLUMNS) as a RecordInfo; corrupt tags read as none."""
    try:
        tags = json.loads(row[4])
    except ValueError:
        tags = []
    return RecordInfo(id=row[0], command=row[1], role=row[2], title=row[3],
                      tags=tags if isinstance(tags, list) else [], peer=row[5], started=row[6],
                      ended=row[7], outcome=row[8], entries=row[9], head=row[10], session=row[11])


def entry_dict(row: tuple) -> dict[str, object]:
    """An entry row (seq, ts, kind, data, hash) as the dict verify and render read."""
    return {"seq": row[0], "ts": row[1], "kind": row[2], "data": parse_data(row[3]), "hash": row[4]}


def parse_data(text: object) -> object:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text  # corrupt: verify reports it, nothing crashes


def record_prefix(id_or_prefix: str) -> str:
    """A record id (or its start) as typed, checked: NotFound if it cannot be one."""
    prefix = id_or_prefix.strip().lower()
    if not prefix or any(c not in "0123456789abcdef" for c in prefix):
        raise NotFound(f"no record {id_or_prefix!r}: ids are hexadecimal (see rassist tickets list)")
    return prefix


def one_record(rows: list[tuple], id_or_prefix: str, prefix: str) -> RecordInfo:
    """The one record that rows (at most two, by id) found for the prefix."""
    if not rows:
        raise NotFound(f"no record {id_or_prefix!r} (see rassist tickets list)")
    if len(rows) > 1 and rows[0][0] != prefix:
        raise NotFound(f"{id_or_prefix!r} matches several records: give more characters")
    return record_info(rows[0])


class StoreError(RassistError):
    kind = "store"


class NotFound(RassistError):
    """No record with that id (or the prefix is ambiguous): a usage error."""

    exit_code = 2
    kind = "not-found"


class Store(Protocol):
    """What the recorder and `rassist tickets` need from a database."""

    def create(self, info: RecordInfo) -> None: ...
    def append(self, record_id: str, entries: list[Entry], texts: list[str],
               summary: dict[str, object]) -> None:
        """Entries (with their searchable text) and summary updates, in one transaction. Raises
        StoreError if an entry's seq is already taken (someone else appended first)."""
    def get(self, id_or_prefix: str) -> RecordInfo: ...
    def records(self, limit: int = 50, tag: str | None = None) -> list[RecordInfo]: ...
    def entries(self, record_id: str) -> list[dict[str, object]]:
        """Entries as stored, in seq order: seq, ts, kind, data (parsed; the raw text if it is
        not JSON any more), hash."""
    def last(self, record_id: str) -> tuple[int, str] | None:
        """The (seq, hash) of the record's last entry."""
    def search(self, query: str, limit: int = 20) -> list[Hit]: ...
    def same_session(self, session: str, exclude: str) -> list[RecordInfo]: ...
    def prune(self, before_ms: int) -> list[str]: ...
    def close(self) -> None: ...


def data_dir() -> Path:
    explicit = os.environ.get("RASSIST_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rassist"


def files_dir(record_id: str) -> Path:
    base = os.environ.get("RASSIST_TICKETS_FILES")
    root = Path(base).expanduser() if base else data_dir() / "files"
    return root / record_id


def store_url() -> str | None:
    return os.environ.get("RASSIST_TICKETS_URL") or None


def open_store() -> Store:
    """The configured store, schema created if need be. Raises StoreError."""
    url = store_url()
    if url and url.startswith(("postgresql://", "postgres://")):
        from rassist.records.pg_store import PgStore

        return PgStore(url)
    if url:
        raise StoreError(f"RASSIST_TICKETS_URL={url.split(':', 1)[0]}:... is not a postgresql:// URL")
    from rassist.records.sqlite_store import SqliteStore

    return SqliteStore(data_dir() / "tickets.db")


def describe_store() -> str:
    url = store_url()
    if url:
        return re.sub(r"//[^@/]*@", "//***@", url)  # never print a password
    return str(data_dir() / "tickets.db")


def fts_terms(query: str) -> list[str]:
    """The words of a query as plain text: FTS syntax characters are searched for, not obeyed."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in query)  # NUL ends an SQL string
    return [t for t in cleaned.split() if t.strip()]
