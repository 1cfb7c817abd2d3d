"""A directory offer shows a progress bar per file inside it, besides the offer's own."""

from __future__ import annotations

from textual.widgets import ProgressBar

from rassist.tui.widgets.transfers import FileBar
from tests.tui.pilot import until
from tests.tui.test_dialogs import offline_app

MB = 1 << 20


async def test_each_file_of_a_directory_gets_its_own_bar():
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.emit("file-offered", id="t1", direction="send", name="logs", files=2, size=5 * MB, peer="bob")
        app.emit("file-progress", id="t1", direction="send", name="logs", path="logs/a.log", bytes=MB,
                 size=2 * MB, total_bytes=MB, total_size=5 * MB)
        app.emit("file-progress", id="t1", direction="send", name="logs", path="logs/b.log", bytes=MB,
                 size=3 * MB, total_bytes=3 * MB, total_size=5 * MB)
        app.emit("file-done", id="t1", direction="send", name="logs", path="logs/a.log", size=2 * MB)
        await until(pilot, lambda: "t1" in app.transfers.rows and len(app.transfers.rows["t1"].files) == 2,
                    "two file bars")
        await pilot.pause()
        row = app.transfers.rows["t1"]
        assert row.done == 3 * MB and row.total == 5 * MB  # the offer's bar: all of it
        a, b = row.files["logs/a.log"], row.files["logs/b.log"]
        assert (a.done, a.total, a.finished) == (2 * MB, 2 * MB, True)
        assert (b.done, b.total, b.finished) == (MB, 3 * MB, False)
        assert len(row.query(FileBar)) == 2 and len(row.query(ProgressBar)) == 3


async def test_a_single_file_offer_has_one_bar():
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.emit("file-progress", id="t2", direction="send", name="big.iso", path="big.iso", bytes=MB,
                 size=4 * MB)
        await until(pilot, lambda: "t2" in app.transfers.rows, "the row")
        await pilot.pause()
        assert not app.transfers.rows["t2"].files
