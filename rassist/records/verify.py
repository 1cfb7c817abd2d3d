"""Checking a record: its own chain, its summary, and the chain heads its peer confirmed.

A record's own chain catches an edited, deleted or reordered entry. A wholesale rewrite (every
hash recomputed) passes that; it is caught by the heads the other side stored in its record
during the session (found in the same store, or in an exported JSON given with --peer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rassist.crypto import chain
from rassist.records.model import RecordInfo
from rassist.records.store import Store


@dataclass
class Verdict:
    record: str
    entries: int
    problem: str | None = None
    first_bad: int | None = None
    confirmed: list[str] = field(default_factory=list)  # what the peer's heads vouch for

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "ok": self.ok, "entries": self.entries, "problem": self.problem,
                "first_bad": self.first_bad, "confirmed": self.confirmed}


def heads_about(entries: list[dict[str, Any]], record_id: str) -> list[tuple[int, str]]:
    """The chain heads of `record_id` that a peer's entries vouch for."""
    found = []
    for e in entries:
        d = e.get("data")
        if e.get("kind") == "peer-head" and isinstance(d, dict) and d.get("record") == record_id:
            if isinstance(d.get("seq"), int) and isinstance(d.get("head"), str):
                found.append((d["seq"], d["head"]))
    return found


def check(info: RecordInfo, entries: list[dict[str, Any]],
          peers: list[tuple[str, list[dict[str, Any]]]]) -> Verdict:
    """`peers`: (peer record id, its entries) for each record of the other side we have."""
    verdict = Verdict(info.id, len(entries))
    problem, head, good = chain.verify(info.id, entries)
    if problem is not None:
        verdict.problem, verdict.first_bad = problem.reason, problem.seq
        return verdict
    if info.entries and good < info.entries:
        verdict.problem = (f"entries {good} to {info.entries - 1} are missing: the record ends early "
                           "(entries deleted from its end?)")
        verdict.first_bad = good
        return verdict
    for peer_id, peer_entries in peers:
        for seq, vouched in heads_about(peer_entries, info.id):
            if seq >= good:
                verdict.problem = (f"the peer's record {peer_id} confirmed entry {seq}, but this record "
                                   f"has only {good} entries (cut short?)")
                verdict.first_bad = good
                return verdict
            actual = chain.hash_at(info.id, entries, seq)
            if actual != vouched:
                verdict.problem = (f"rewritten: the peer's record {peer_id} confirmed a different chain "
                                   f"head at entry {seq} ({vouched[:16]}…, this record has {str(actual)[:16]}…)")
                # Consistent hashes throughout: any entry up to `seq` may have changed; name the
                # last one the peer vouched for.
                verdict.first_bad = seq
                return verdict
            verdict.confirmed.append(f"entry {seq} confirmed by {peer_id}")
    return verdict


def verify_in_store(store: Store, info: RecordInfo,
                    extra_peers: list[tuple[str, list[dict[str, Any]]]] | None = None) -> Verdict:
    entries = store.entries(info.id)
    peers = [(p.id, store.entries(p.id)) for p in store.same_session(info.session, info.id)]
    return check(info, entries, peers + list(extra_peers or []))
