"""What a controller types is not kept: the host's record counts input events, never their text."""

from __future__ import annotations

import asyncio

import pytest

from rassist.media.control import HostControl

from rassist.media.join_control import JoinControl
from rassist.media.inject import Monitor
from rassist.records.recorder import Recorder
from rassist.records.sqlite_store import SqliteStore
from tests.media.input_fixtures import KeyLog
from tests.sessions import connected_sessions

pytestmark = pytest.mark.display


async def test_typed_text_is_counted_not_stored(display_env: str, keylog: KeyLog, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RASSIST_DATA_DIR", str(tmp_path))
    host_rec, join_rec = Recorder("host", "host", "helpdesk"), Recorder("join", "join", "alice")
    secret = "hunter2sekrit"
    async with connected_sessions([host_rec, HostControl(Monitor(0, 0, 1920, 1080))], [join_rec, JoinControl()],
                                  {"view", "control"}) as pair:
        await pair.host_events.wait("control", state="granted")
        await pair.join.handle_command({"text": secret})
        await asyncio.to_thread(keylog.take, 2 * len(secret))
        await pair.host.handle_command({"revoke": "control"})
        await pair.host_events.wait("control", state="revoked")
        await pair.join.close("quit")
        await asyncio.wait_for(pair.tasks[1], 20)
    host_rec.close()
    join_rec.close()
    store = SqliteStore(tmp_path / "tickets.db")
    counted = [e["data"] for e in store.entries(host_rec.info.id) if e["kind"] == "input"]
    assert counted and counted[0]["events"] >= 1 and counted[0]["stored"] == "count only"
    states = [e["data"]["state"] for e in store.entries(host_rec.info.id) if e["kind"] == "control"]
    assert states[:1] == ["granted"] and "revoked" in states
    store.close()
    for path in tmp_path.rglob("*"):  # the database, its journal, anything else
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
