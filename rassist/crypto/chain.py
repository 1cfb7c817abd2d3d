"""The hash chain of a session record: each entry's hash covers the one before it.

hash(n) = SHA-256(canonical JSON of {"prev": hash(n-1), "seq": n, "ts": ..., "kind": ..., "data": ...})
and hash(-1) is derived from the record id, so an entry cannot be moved to another record.
Pure: data in, verdicts out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (NaN and infinities refused)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def genesis(record_id: str) -> str:
    return hashlib.sha256(b"rassist-record\x00" + record_id.encode("utf-8")).hexdigest()


def entry_hash(prev: str, seq: int, ts: int, kind: str, data: Mapping[str, Any]) -> str:
    body = {"prev": prev, "seq": seq, "ts": ts, "kind": kind, "data": data}
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True)
class Problem:
    """The first entry that does not fit the chain, and why."""

    seq: int  # the position where the break was found (the expected sequence number)
    reason: str


def verify(record_id: str, entries: Iterable[Mapping[str, Any]]) -> tuple[Problem | None, str, int]:
    """Walk the entries (dicts with seq, ts, kind, data, hash, in stored order).

    Returns (the first problem or None, the last good hash, the number of good entries). A
    deleted entry shows as a gap in seq or a prev mismatch, a reordered one the same way, an
    edited one as a hash that no longer matches its content."""
    prev = genesis(record_id)
    expected = 0
    for entry in entries:
        try:
            seq, ts, kind, data, stored = (entry["seq"], entry["ts"], entry["kind"], entry["data"],
                                           entry["hash"])
        except (KeyError, TypeError):
            return Problem(expected, "entry is malformed"), prev, expected
        if seq != expected:
            what = "missing (deleted?)" if isinstance(seq, int) and seq > expected else "out of order"
            return Problem(expected, f"entry {expected} is {what}: found entry {seq!r} in its place"), prev, expected
        try:
            actual = entry_hash(prev, seq, ts, kind, data)
        except (TypeError, ValueError):
            return Problem(seq, f"entry {seq} cannot be hashed (corrupt data)"), prev, expected
        if actual != stored:
            return Problem(seq, f"entry {seq} ({kind}) was changed: its hash does not match its content "
                                "or the entry before it"), prev, expected
        prev = actual
        expected += 1
    return None, prev, expected


def hash_at(record_id: str, entries: Iterable[Mapping[str, Any]], seq: int) -> str | None:
    """The chain hash after entry `seq`, recomputed from content (None if the record is shorter)."""
    prev = genesis(record_id)
    for entry in entries:
        prev = entry_hash(prev, entry["seq"], entry["ts"], entry["kind"], entry["data"])
        if entry["seq"] == seq:
            return prev
    return None
