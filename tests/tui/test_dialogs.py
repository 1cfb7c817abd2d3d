"""Dialogs and panes that need no peer: the send-file dialog's completion, a file offer."""

from __future__ import annotations

import asyncio

from textual.widgets import Button, Input

from rassist.pairing import HostOptions
from rassist.tui.dialogs import ConfirmDialog, SendFileDialog
from rassist.tui.host_app import HostApp
from tests.tui.pilot import shown, until


async def never_connects(emit):
    await asyncio.Event().wait()


def offline_app() -> HostApp:
    return HostApp(HostOptions(name="desk"), connect=never_connects)


async def test_send_file_dialog_completes_paths_and_refuses_missing_files(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "install.log").write_text("ok")
    (tmp_path / "logs" / "install.old").write_text("old")
    app = offline_app()
    chosen: list[str | None] = []
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(SendFileDialog(), callback=chosen.append)
        await until(pilot, lambda: isinstance(app.screen, SendFileDialog), "the dialog")
        await pilot.pause()
        field = app.screen.query_one("#path", Input)
        field.insert_text_at_cursor(f"{tmp_path}/lo")  # typing a long temp path key by key is slow
        await pilot.press("tab")
        assert field.value == f"{tmp_path}/logs/"
        await pilot.press("i", "tab")
        assert field.value == f"{tmp_path}/logs/install."  # as far as the two names agree
        assert "install.log" in shown(app.screen.query_one("#path-matches"))
        await pilot.press("x", "enter")
        assert "no such file" in shown(app.screen.query_one("#path-error"))
        await pilot.press("backspace", "l", "tab", "enter")
        await until(pilot, lambda: chosen, "the dialog to close")
    assert chosen == [f"{tmp_path}/logs/install.log"]


async def test_a_file_offer_asks_and_lists_it_with_its_size():
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.emit("file-offer", id="f1", name="crash.dmp", size=12_500_000, peer="bob")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the offer question")
        assert app.screen.question.startswith("bob offers [b]crash.dmp[/] (12.5 MB)")
        await pilot.press("n")  # not connected: answering is refused, the offer stays open
        await pilot.pause()
        row = app.transfers.rows["f1"]
        assert row.asking and row.status == "offered by bob"
        assert [str(b.label) for b in row.query(Button)] == ["Accept", "Decline"]
        app.emit("file-progress", id="f1", name="crash.dmp", size=12_500_000, bytes=5_000_000)
        await pilot.pause()
        assert not row.asking and row.done == 5_000_000 and not row.query(Button)


async def test_enter_sends_the_grey_completion_that_the_field_shows(tmp_path):
    (tmp_path / "report-2026.pdf").write_text("pdf")
    app = offline_app()
    chosen: list[str | None] = []
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(SendFileDialog(), callback=chosen.append)
        await until(pilot, lambda: isinstance(app.screen, SendFileDialog), "the dialog")
        await pilot.pause()
        field = app.screen.query_one("#path", Input)
        field.insert_text_at_cursor(f"{tmp_path}/rep")
        await until(pilot, lambda: field._suggestion == f"{tmp_path}/report-2026.pdf", "the grey completion")
        await pilot.press("enter")
        await until(pilot, lambda: chosen, "the dialog to close")
    assert chosen == [f"{tmp_path}/report-2026.pdf"]
