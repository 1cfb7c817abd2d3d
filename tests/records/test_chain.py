"""The pure hash chain and the peer's head messages: properties over generated data."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rassist.crypto import chain
from rassist.records.model import entry_for_event, searchable
from rassist.records.recorder import parse_head

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
entry_data = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


def build(record_id: str, contents: list[tuple[int, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    prev, entries = chain.genesis(record_id), []
    for seq, (ts, kind, data) in enumerate(contents):
        prev = chain.entry_hash(prev, seq, ts, kind, data)
        entries.append({"seq": seq, "ts": ts, "kind": kind, "data": data, "hash": prev})
    return entries


contents = st.lists(st.tuples(st.integers(0, 2**45), st.sampled_from(["chat", "note", "file-done"]), entry_data),
                    min_size=2, max_size=8)


@given(contents)
def test_an_untouched_chain_verifies(items):
    entries = build("r1", items)
    problem, head, good = chain.verify("r1", entries)
    assert problem is None and good == len(entries) and head == entries[-1]["hash"]
    assert chain.hash_at("r1", entries, len(entries) - 1) == head


@given(contents, st.data())
def test_any_edit_is_found_at_that_entry(items, data):
    entries = build("r1", items)
    victim = data.draw(st.integers(0, len(entries) - 1))
    field = data.draw(st.sampled_from(["ts", "kind", "data"]))
    changed = dict(entries[victim])
    changed[field] = {"ts": changed["ts"] + 1, "kind": changed["kind"] + "x",
                      "data": {**changed["data"], "tampered": True}}[field]
    entries[victim] = changed
    problem, _, good = chain.verify("r1", entries)
    assert problem is not None and problem.seq == victim and good == victim


@given(contents, st.data())
def test_a_deleted_or_swapped_entry_is_found(items, data):
    entries = build("r1", items)
    i = data.draw(st.integers(0, len(entries) - 2))
    deleted = entries[:i] + entries[i + 1:]
    assert chain.verify("r1", deleted)[0].seq == i
    swapped = list(entries)
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    assert chain.verify("r1", swapped)[0].seq == i


@given(contents)
def test_entries_cannot_move_to_another_record(items):
    assert chain.verify("r2", build("r1", items))[0].seq == 0


@given(st.lists(st.one_of(json_values, st.dictionaries(st.text(max_size=3), json_values)), max_size=3))
def test_corrupt_entries_are_reported_not_raised(junk):
    problem, _, _ = chain.verify("r1", [j if isinstance(j, dict) else {"x": j} for j in junk] or [{}])
    assert problem is not None


@given(st.dictionaries(st.sampled_from(["t", "record", "seq", "head", "final", "yours"]), json_values))
def test_parse_head_takes_only_well_formed_heads(msg):
    parsed = parse_head(msg)
    if parsed is not None:
        record, seq, head = parsed
        assert isinstance(seq, int) and len(head) == 64 and all(c in "0123456789abcdef" for c in record + head)


@given(st.text(max_size=30), st.dictionaries(st.text(max_size=10), json_values | st.floats(), max_size=6))
def test_any_event_becomes_a_hashable_entry_or_nothing(event, fields):
    kept = entry_for_event(event, fields, "me")
    if kept is not None:
        kind, data = kept
        chain.entry_hash(chain.genesis("r"), 0, 0, kind, data)  # canonical JSON never fails
        assert isinstance(searchable(kind, data), str)
