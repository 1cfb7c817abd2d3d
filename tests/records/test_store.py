"""The same store tests on SQLite and on a real PostgreSQL server: writing through the
Writer's thread, finding, searching, tampering (detected), pruning."""

from __future__ import annotations

import pytest

from rassist.crypto import chain
from rassist.records.model import RecordInfo, now_ms
from rassist.records.store import NotFound, StoreError
from rassist.records.verify import check, verify_in_store
from rassist.records.writer import Item, Writer
from tests.records.conftest import raw_sql


def write_record(open_store, items: list[Item], rid: str = "a1b2c3d4e5f6", session: str = "",
                 **info) -> RecordInfo:
    record = RecordInfo(id=rid, command="host", role="host", started=items[0].ts if items else now_ms(),
                        session=session, **info)
    warnings: list[str] = []
    writer = Writer(record, warnings.append, opener=open_store)
    for item in items:
        writer.put(item)
    writer.close()
    assert not warnings and writer.head[0] == len(items) - 1
    return record


def chat(text: str, ts: int, who: str = "alice") -> Item:
    return Item("chat", {"from": who, "text": text}, ts=ts)


def test_entries_round_trip_with_summary_and_prefix_lookup(open_store):
    t0 = now_ms()
    items = [Item("start", {"command": "host", "title": "VPN drops", "tags": ["vpn"]}, ts=t0),
             Item("connected", {"peer": "alice@box", "granted": ["view"], "ratio": 0.5}, ts=t0 + 10,
                  summary={"peer": "alice@box"}),
             chat("héllo ✓ \"quotes\" and \\ backslash", t0 + 2000),
             Item("ended", {"reason": "quit"}, ts=t0 + 5000, summary={"ended": t0 + 5000, "outcome": "quit"})]
    write_record(open_store, items, title="VPN drops", tags=["vpn", "acme"])
    store = open_store()
    info = store.get("a1b2")
    assert (info.peer, info.outcome, info.ended, info.entries) == ("alice@box", "quit", t0 + 5000, 4)
    entries = store.entries(info.id)
    assert [e["seq"] for e in entries] == [0, 1, 2, 3]
    assert entries[2]["data"] == {"from": "alice", "text": "héllo ✓ \"quotes\" and \\ backslash"}
    assert entries[1]["data"]["ratio"] == 0.5
    assert info.head == entries[-1]["hash"]
    assert verify_in_store(store, info).ok
    assert [r.id for r in store.records(tag="acme")] == [info.id] and store.records(tag="nope") == []
    with pytest.raises(NotFound):
        store.get("ffff")
    with pytest.raises(NotFound):
        store.get("not-hex'; drop table")


def test_ambiguous_prefix_is_refused(open_store):
    write_record(open_store, [chat("one", now_ms())], rid="abc111111111")
    write_record(open_store, [chat("two", now_ms())], rid="abc222222222")
    store = open_store()
    with pytest.raises(NotFound, match="several"):
        store.get("abc")
    assert store.get("abc2").id == "abc222222222"


def test_search_ranks_and_shows_the_moment(open_store):
    t0 = now_ms()
    write_record(open_store, [Item("start", {"title": "office"}, ts=t0),
                              chat("the printer is jammed again", t0 + 65_000)], rid="111111111111")
    write_record(open_store, [Item("start", {"title": "vpn"}, ts=t0),
                              chat("printer printer printer: ECONNREFUSED on port 631", t0 + 3_000)],
                 rid="222222222222")
    store = open_store()
    hits = store.search("printer")
    assert [h.record for h in hits] == ["222222222222", "111111111111"]  # more mentions rank higher
    hits = store.search("jammed")
    assert len(hits) == 1 and hits[0].at == pytest.approx(65.0) and "«jammed»" in hits[0].snippet
    assert hits[0].kind == "chat" and hits[0].seq == 1
    assert store.search("ECONNREFUSED 631")[0].record == "222222222222"
    assert store.search("nothing-like-this") == []


@pytest.mark.parametrize("query", ['"ECONNREFUSED', "ECONNREFUSED*", "port:631", "NOT ECONNREFUSED",
                                   "(ECONNREFUSED", "ECONNREFUSED AND", "'ECONNREFUSED'", "^ECONNREFUSED",
                                   "ECONNREFUSED -x", "NEAR(ECONNREFUSED)", "ECONNREFUSED\x00"])
def test_query_syntax_characters_are_searched_as_text(open_store, query):
    t0 = now_ms()
    write_record(open_store, [chat("got ECONNREFUSED on port:631 NEAR(x) AND -x (NOT) here", t0)])
    store = open_store()
    hits = store.search(query)  # never a syntax error
    assert all(h.record == "a1b2c3d4e5f6" for h in hits)
    if query in ('"ECONNREFUSED', "(ECONNREFUSED", "'ECONNREFUSED'", "port:631"):
        assert hits, query


def test_an_empty_query_is_a_clear_error(open_store):
    write_record(open_store, [chat("x", now_ms())])
    with pytest.raises(StoreError, match="search for what"):
        open_store().search("   ")


def test_a_taken_seq_is_refused(open_store):
    from rassist.records.model import Entry

    write_record(open_store, [chat("one", now_ms())])
    store = open_store()
    with pytest.raises(StoreError):
        store.append("a1b2c3d4e5f6", [Entry(0, 1, "note", {}, "0" * 64)], [""], {})


def _five(open_store) -> tuple:
    t0 = now_ms()
    write_record(open_store, [chat(f"line {i}", t0 + i) for i in range(5)])
    store = open_store()
    return store, store.get("a1b2c3d4e5f6")


def test_an_edited_entry_is_detected(open_store):
    store, info = _five(open_store)
    raw_sql(store, "UPDATE entries SET data = ? WHERE record = ? AND seq = 2",
            ('{"from":"alice","text":"line X"}', info.id))
    verdict = verify_in_store(store, info)
    assert not verdict.ok and verdict.first_bad == 2 and "changed" in verdict.problem


def test_a_deleted_entry_is_detected(open_store):
    store, info = _five(open_store)
    raw_sql(store, "DELETE FROM entries WHERE record = ? AND seq = 1", (info.id,))
    verdict = verify_in_store(store, info)
    assert not verdict.ok and verdict.first_bad == 1 and "missing" in verdict.problem


def test_deleting_the_last_entries_is_detected(open_store):
    store, info = _five(open_store)
    raw_sql(store, "DELETE FROM entries WHERE record = ? AND seq >= 3", (info.id,))
    verdict = verify_in_store(store, info)
    assert not verdict.ok and verdict.first_bad == 3


def test_reordered_entries_are_detected(open_store):
    store, info = _five(open_store)
    raw_sql(store, "UPDATE entries SET seq = -1 WHERE record = ? AND seq = 1", (info.id,))
    raw_sql(store, "UPDATE entries SET seq = 1 WHERE record = ? AND seq = 3", (info.id,))
    raw_sql(store, "UPDATE entries SET seq = 3 WHERE record = ? AND seq = -1", (info.id,))
    verdict = verify_in_store(store, info)
    assert not verdict.ok and verdict.first_bad == 1


def test_corrupt_json_is_reported_not_a_crash(open_store):
    store, info = _five(open_store)
    raw_sql(store, "UPDATE entries SET data = ? WHERE record = ? AND seq = 4", ("{not json", info.id))
    verdict = verify_in_store(store, info)
    assert not verdict.ok and verdict.first_bad == 4


def test_a_wholesale_rewrite_no_longer_matches_the_peers_heads(open_store):
    """The host's record rewritten with every hash recomputed passes its own chain check, but
    not the head the joiner's record confirmed during the session."""
    t0 = now_ms()
    host_items = [chat("I will not touch the payroll folder", t0), chat("ok", t0 + 1)]
    host = write_record(open_store, host_items, rid="aaaaaaaaaaaa", session="s1")
    store = open_store()
    first = store.entries(host.id)
    write_record(open_store, [chat("fine", t0), Item("peer-head", {"record": host.id, "seq": 1,
                                                                   "head": first[1]["hash"], "final": True},
                                                     ts=t0 + 2)], rid="bbbbbbbbbbbb", session="s1")
    assert verify_in_store(store, store.get(host.id)).confirmed == ["entry 1 confirmed by bbbbbbbbbbbb"]
    # Rewrite: new content, a valid chain from scratch.
    prev = chain.genesis(host.id)
    for seq, text in enumerate(["I will touch the payroll folder", "ok"]):
        data = {"from": "alice", "text": text}
        prev = chain.entry_hash(prev, seq, first[seq]["ts"], "chat", data)
        raw_sql(store, "UPDATE entries SET data = ?, hash = ? WHERE record = ? AND seq = ?",
                (__import__("json").dumps(data), prev, host.id, seq))
    entries = store.entries(host.id)
    assert chain.verify(host.id, entries)[0] is None  # its own chain looks fine...
    verdict = verify_in_store(store, store.get(host.id))
    assert not verdict.ok and "rewritten" in verdict.problem  # ...the peer's head does not
    # The same check with the peer's record given from an export instead of the same store.
    alone = RecordInfo(id=host.id, command="host", role="host", started=t0)
    assert not check(alone, entries, [("bbbbbbbbbbbb", store.entries("bbbbbbbbbbbb"))]).ok


def test_prune_removes_old_records_only(open_store):
    old = now_ms() - 100 * 86_400_000
    write_record(open_store, [chat("ancient", old)], rid="000000000001")
    write_record(open_store, [chat("recent", now_ms())], rid="000000000002")
    store = open_store()
    assert store.prune(now_ms() - 90 * 86_400_000) == ["000000000001"]
    assert [r.id for r in store.records()] == ["000000000002"]
    assert store.search("ancient") == [] and store.entries("000000000001") == []


def test_any_query_is_text_never_fts_syntax(tmp_path):
    """Whatever a person types (quotes, stars, brackets, NEAR, column filters, NUL), SQLite's
    FTS5 gets plain words: a result or nothing, never a syntax error."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from rassist.records.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "t.db")
    writer_items = [chat('he said "x*" (NEAR) col:umn ^start AND -not OR + {a b}', now_ms())]
    write_record(lambda: SqliteStore(tmp_path / "t.db"), writer_items)

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from('"*()^:-+{}[]\'ANDORNTEXabc \x00é'), min_size=1, max_size=30))
    def search(query):
        try:
            store.search(query)
        except StoreError as exc:
            assert "search for what" in exc.message, exc.message  # only a query of nothing but spaces

    search()
    assert store.search('"x*"')[0].record == "a1b2c3d4e5f6"
    assert store.search("col:umn")[0].record == "a1b2c3d4e5f6"
