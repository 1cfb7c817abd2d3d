"""The recorder on real in-process sessions: both sides' heads, notes, key counts, and a
store that fails (locked, full disk) without ending the session."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import uuid

import pytest

from rassist.records import writer as writer_module
from rassist.records.recorder import Recorder
from rassist.records.sqlite_store import SqliteStore
from rassist.records.verify import verify_in_store
from tests.sessions import connected_sessions


async def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.05)


async def test_both_sides_record_and_confirm_each_others_heads(tmp_path, monkeypatch):
    monkeypatch.setenv("RASSIST_DATA_DIR", str(tmp_path))
    host_rec = Recorder("host", "host", "helpdesk", title="printer", tags=["office"])
    join_rec = Recorder("join", "join", "alice")
    async with connected_sessions([host_rec], [join_rec], {"view"}) as pair:
        pair.join.chat("the printer shows E-204")
        await pair.host_events.wait("chat")
        await pair.host.handle_command({"note": "E-204 is a paper jam"})
        await pair.host_events.wait("note")
        await pair.join.handle_command({"note": ""})
        await pair.join_events.wait("error", kind="command")
        await pair.join.close("quit")
        await asyncio.wait_for(pair.tasks[1], 20)
        await asyncio.wait_for(pair.tasks[0], 20)
    host_rec.close()
    join_rec.close()
    store = SqliteStore(tmp_path / "tickets.db")
    host_info, join_info = store.get(host_rec.info.id), store.get(join_rec.info.id)
    assert host_info.session and host_info.session == join_info.session
    assert host_info.outcome == "peer-left" and join_info.outcome == "quit"
    host_entries = store.entries(host_info.id)
    kinds = [e["kind"] for e in host_entries]
    assert kinds[:2] == ["start", "link"] and "note" in kinds and kinds[-1] == "ended"
    assert [e["data"]["text"] for e in host_entries if e["kind"] == "chat"] == ["the printer shows E-204"]
    # The joiner left: its last head reached the host before the goodbye, and the host answered.
    finals = [e["data"] for e in host_entries if e["kind"] == "peer-head" and e["data"]["final"]]
    assert finals and finals[-1]["record"] == join_info.id
    assert any(e["kind"] == "peer-head" and e["data"]["final"] for e in store.entries(join_info.id))
    host_verdict, join_verdict = verify_in_store(store, host_info), verify_in_store(store, join_info)
    assert host_verdict.ok and join_verdict.ok
    assert host_verdict.confirmed and join_verdict.confirmed


async def test_a_locked_database_does_not_end_the_session_and_nothing_is_lost(tmp_path, monkeypatch):
    monkeypatch.setenv("RASSIST_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(writer_module, "RETRY", 0.2)
    SqliteStore(tmp_path / "tickets.db").close()
    rec = Recorder("host", "host", "helpdesk")
    async with connected_sessions([rec], [], {"view"}) as pair:
        await wait_for(lambda: rec.writer is not None and rec.writer.head[0] >= 0)
        locker = sqlite3.connect(tmp_path / "tickets.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        for i in range(5):
            pair.join.chat(f"while locked {i}")
        warning = await pair.host_events.wait("record-warning", timeout=30)
        assert "goes on" in warning["message"]
        pair.join.chat("still talking")  # the session is alive
        await pair.host_events.wait("chat", text="still talking")
        locker.execute("ROLLBACK")
        locker.close()
        await pair.host_events.wait("record-warning", timeout=30, message=f"the record {rec.info.id} is being saved again")
    rec.close()
    store = SqliteStore(tmp_path / "tickets.db")
    entries = store.entries(rec.info.id)
    texts = [e["data"]["text"] for e in entries if e["kind"] == "chat"]
    assert texts == [f"while locked {i}" for i in range(5)] + ["still talking"]
    assert verify_in_store(store, store.get(rec.info.id)).ok


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs: a real file system that fills up."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(reason="mounting a small tmpfs to fill up needs root")
    mount = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_does_not_end_the_session_and_the_record_says_what_was_lost(tiny_disk, monkeypatch):
    monkeypatch.setenv("RASSIST_DATA_DIR", str(tiny_disk / "data"))
    monkeypatch.setattr(writer_module, "RETRY", 0.2)
    monkeypatch.setattr(writer_module, "MAX_PENDING", 5)
    rec = Recorder("host", "host", "helpdesk")
    async with connected_sessions([rec], [], {"view"}) as pair:
        await wait_for(lambda: rec.writer is not None and rec.writer.head[0] >= 0)
        filler = tiny_disk / "filler"
        with open(filler, "wb") as f:  # fill every byte that is left
            with pytest.raises(OSError):
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        for i in range(5000):  # far more than fits, and more than MAX_PENDING; the host's own
            pair.host.chat(f"on a full disk {i} " + "x" * 200)  # lines: the peer's are flood-limited
        await pair.host_events.wait("record-warning", timeout=30)
        pair.join.chat("the session goes on")
        await pair.host_events.wait("chat", text="the session goes on")
        filler.unlink()
        pair.join.chat("space again")
        await pair.host_events.wait("record-warning", timeout=30, message=f"the record {rec.info.id} is being saved again")
    rec.close()
    store = SqliteStore(tiny_disk / "data" / "tickets.db")
    entries = store.entries(rec.info.id)
    lost = [e["data"] for e in entries if e["kind"] == "lost"]
    assert lost and lost[0]["entries"] > 0 and "full" in lost[0]["reason"]
    assert any(e["kind"] == "chat" and e["data"]["text"] == "space again" for e in entries)
    assert verify_in_store(store, store.get(rec.info.id)).ok
    store.close()


async def test_a_note_added_from_the_command_line_during_a_session_is_chained_in(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("RASSIST_DATA_DIR", str(tmp_path))
    rec = Recorder("host", "host", "helpdesk")
    async with connected_sessions([rec], [], {"view"}) as pair:
        await wait_for(lambda: rec.writer is not None and rec.writer.head[0] >= 0)
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "rassist", "tickets", "note",
                                                        rec.info.id, "called", "from", "outside"],
                                       capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        pair.join.chat("after the note")
        await pair.host_events.wait("chat", text="after the note")
    rec.close()
    store = SqliteStore(tmp_path / "tickets.db")
    entries = store.entries(rec.info.id)
    assert [e["data"].get("text") for e in entries if e["kind"] in ("note", "chat")] == [
        "called from outside", "after the note"]
    assert verify_in_store(store, store.get(rec.info.id)).ok
