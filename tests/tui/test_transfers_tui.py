"""Files through the host's TUI with the real transfer feature: an offer from the joiner is
accepted in the dialog and lands on disk; a file picked in the send dialog reaches the joiner."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from rassist.pairing import HostOptions, JoinOptions, join
from rassist.transfer.feature import FilesFeature
from rassist.tui.dialogs import ARM_SECONDS, ConfirmDialog, SendFileDialog
from rassist.tui.host_app import HostApp
from tests.tui.pilot import until


async def test_files_both_ways_through_the_host_tui(server, tmp_path):
    host_dir, join_dir = tmp_path / "host", tmp_path / "join"
    host_dir.mkdir()
    join_dir.mkdir()
    incoming = join_dir / "crash.dmp"
    incoming.write_bytes(os.urandom(3 * 1024 * 1024))  # over 1 MiB: progress events too
    outgoing = host_dir / "fix.sh"
    outgoing.write_text("#!/bin/sh\necho fixed\n")
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    app = HostApp(HostOptions(name="desk", server=server, features=[FilesFeature(downloads)]),
                  auto=True, allowed={"files"})
    joiner_events: list[dict[str, Any]] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.panel.info.get("code"), "a code")
        joiner = await join(app.panel.info["code"], JoinOptions(
            name="bob", server=server, wants=("view", "files"),
            features=[FilesFeature(join_dir / "in", auto_accept=True)]),
            lambda event, **f: joiner_events.append({"event": event, **f}))
        await joiner.start()
        running = asyncio.ensure_future(joiner.run())
        try:
            await until(pilot, lambda: app.status_bar.fields.get("state") == "connected", "connected")
            assert app.transfers.query_one("#transfers-note").visual.plain.startswith("No transfers yet")

            await joiner.handle_command({"send": str(incoming)})
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the offer question")
            await pilot.pause(ARM_SECONDS)  # a question takes no yes in its first moments
            await pilot.press("y")
            await until(pilot, lambda: (downloads / "crash.dmp").exists()
                        and any(r.status.startswith("done") for r in app.transfers.rows.values()),
                        "the offered file to arrive")
            assert (downloads / "crash.dmp").read_bytes() == incoming.read_bytes()
            row = next(iter(app.transfers.rows.values()))
            assert row.done == row.total == incoming.stat().st_size
            assert any("File received: crash.dmp" in line for line in app.chat_pane.plain)

            await pilot.press("f3")
            await until(pilot, lambda: isinstance(app.screen, SendFileDialog), "the send dialog")
            app.screen.query_one("#path").insert_text_at_cursor(str(outgoing))
            await pilot.press("enter")
            await until(pilot, lambda: (join_dir / "in" / "fix.sh").exists(), "the file to reach the joiner")
            assert (join_dir / "in" / "fix.sh").read_text() == outgoing.read_text()
            await until(pilot, lambda: len(app.transfers.rows) == 2
                        and all(r.status.startswith("done") for r in app.transfers.rows.values()),
                        "both transfers done")
            assert app.query_one("TabbedContent").active == "tab-transfers"
            await pilot.press("ctrl+q")
            await until(pilot, lambda: app.return_code is not None, "the app to exit")
            assert await asyncio.wait_for(asyncio.shield(running), 10) == "peer-left"
        finally:
            running.cancel()
            with contextlib.suppress(BaseException):
                await running
    assert app.return_code == 0
    assert any(e["event"] == "transfer-done" and e["direction"] == "receive" for e in joiner_events)
