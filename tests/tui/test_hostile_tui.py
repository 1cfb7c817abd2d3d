"""A hostile joiner against the host's TUI: its escapes never reach the terminal, and while it
has control a white-on-red banner says so."""

from __future__ import annotations

import time

import pytest

from rassist.features import host_features
from rassist.pairing import HostOptions
from rassist.tui import dialogs
from rassist.tui.dialogs import ApproveDialog
from rassist.tui.host_app import HostApp
from tests.cli.test_peer_text_pty import CHAT, FORBIDDEN, NAME
from tests.procs import Proc
from tests.ptyproc import PtyProc
from tests.tui.pilot import event, shown, until


@pytest.mark.display
async def test_banner_shows_while_the_joiner_has_control(server, display_env, monkeypatch):
    # A longer arming time than users get: on a loaded machine the early "y" below may otherwise
    # land after the real 0.75 s and be taken as a deliberate answer.
    monkeypatch.setattr(dialogs, "ARM_SECONDS", 4.0)
    app = HostApp(HostOptions(name="desk", server=server, features=host_features(None)))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.panel.info.get("code"), "a code")
        banner = app.query_one("#control-banner")
        assert shown(banner) == ""
        join = Proc(["join", app.panel.info["code"], "--json", "--server", server, "--control", "--name", NAME])
        await until(pilot, lambda: isinstance(app.screen, ApproveDialog), "the approval dialog")
        assert app.screen.peer == "mallory^[[8m^[]0;PWNED^G"
        await pilot.press("y")  # typed as the question appeared: meant for something else
        await pilot.pause(0.2)
        assert isinstance(app.screen, ApproveDialog)
        await pilot.pause(dialogs.ARM_SECONDS)
        await pilot.press("y")
        await event(join, "connected")
        await until(pilot, lambda: shown(banner), "the control banner")
        assert "mallory^[[8m^[]0;PWNED^G HAS CONTROL" in shown(banner)
        assert banner.region.y == 0 and banner.region.width == 80
        assert banner.styles.background.rgb == (255, 0, 0) and banner.styles.color.rgb == (255, 255, 255)
        await pilot.press("f2")  # revoke
        await event(join, "control", state="revoked")
        await until(pilot, lambda: not shown(banner), "the banner to go")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert join.wait_exit() == 0


def test_the_terminal_under_the_tui_gets_no_escape_from_the_peer(server):
    host = PtyProc(["host", "--server", server, "--name", "desk"], size=(40, 120))
    host.wait_for("rassist join", timeout=60)
    code = host.text().split("rassist join", 1)[1]
    code = "".join(ch for ch in code.split("\x1b")[0] if ch.isprintable()).split()[0]
    join = Proc(["join", code, "--json", "--server", server, "--name", NAME])
    host.wait_for("PWNED", timeout=30)  # the approval dialog names the joiner
    time.sleep(1.5)  # a question takes no yes in its first moments
    host.write("y")
    join.wait_event("connected")
    join.send({"chat": CHAT})
    host.wait_for("cHduZWQ=", timeout=30)
    join.send({"quit": True})
    assert join.wait_exit() == 0
    host.write("\x11")  # Ctrl+Q
    host.wait_exit()
    for sequence in FORBIDDEN:
        assert sequence not in host.output, sequence


async def test_a_chat_flood_does_not_grow_the_chat_pane_without_end():
    from textual.app import App

    from rassist.tui.widgets.chat import ChatPane

    class One(App[None]):
        def compose(self):
            yield ChatPane()

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ChatPane)
        for i in range(2500):
            pane.add_message(0.0, "mallory", f"line {i}", mine=False)
        await pilot.pause()
        assert len(pane.log_widget.lines) <= 2000
