"""The host's TUI, driven by Textual's pilot, against a real `rassist join --json` on loopback:
the code, the approval dialog (approve, deny, the joiner giving up), chat, quitting."""

from __future__ import annotations

from rassist.errors import DeclinedError
from rassist.pairing import HostOptions
from rassist.tui.dialogs import ARM_SECONDS, ApproveDialog
from rassist.tui.host_app import HostApp
from tests.procs import Proc
from tests.tui.pilot import event, shown, until


def host_app(server: str, **kwargs) -> HostApp:
    return HostApp(HostOptions(name="desk", server=server), **kwargs)


async def code_shown(pilot, app: HostApp, other_than: str | None = None) -> str:
    await until(pilot, lambda: app.panel.info.get("code") not in (None, other_than), "a code")
    await pilot.pause()
    code = app.panel.info["code"]
    assert f"rassist join {code}" in shown(app.query_one("#host-code"))
    return code


async def dialog_shown(pilot, app: HostApp) -> ApproveDialog:
    await until(pilot, lambda: isinstance(app.screen, ApproveDialog) and app.screen.query("#approve")
                and app.screen.query_one("#approve").region.area, "the approval dialog")
    await pilot.pause()
    return app.screen


def start_join(server: str, code: str, *extra: str) -> Proc:
    return Proc(["join", code, "--json", "--server", server, "--name", "bob@laptop", *extra])


def chat_text(app: HostApp) -> str:
    return "\n".join(app.chat_pane.plain)


async def test_approve_with_control_unticked_then_chat_and_quit(server):
    app = host_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        code = await code_shown(pilot, app)
        join = start_join(server, code, "--control", "--files")
        dialog = await dialog_shown(pilot, app)
        assert dialog.peer == "bob@laptop" and dialog.wants == ("view", "control", "files")
        await until(pilot, lambda: "bob@laptop asks for view, control, files" in shown(app.query_one("#host-pending")),
                    "the pending request in the panel")
        await pilot.click("#perm-control")  # untick it: view and files only
        assert dialog.chosen() == ("view", "files")
        await pilot.pause(ARM_SECONDS)  # a question takes no yes in its first moments
        await pilot.click("#approve")
        joined = await event(join, "connected")
        assert joined["granted"] == ["files", "view"]
        await until(pilot, lambda: app.status_bar.fields.get("state") == "connected", "connected")
        peer = shown(app.query_one("#host-peer"))
        assert "Connected: bob@laptop" in peer and "Allowed: files, view" in peer
        assert shown(app.query_one("#host-pending")) == ""
        join.send({"chat": "thanks for letting me in"})
        await until(pilot, lambda: "bob@laptop: thanks for letting me in" in chat_text(app), "the joiner's line")
        await pilot.press(*"you're welcome", "enter")
        got = await event(join, "chat", **{"from": "desk"})
        assert got["text"] == "you're welcome"
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == 0
    assert (await event(join, "closed"))["reason"] == "peer-left"
    assert join.wait_exit() == 0


async def test_deny_turns_the_joiner_away_and_a_fresh_code_follows(server):
    app = host_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        code = await code_shown(pilot, app)
        join = start_join(server, code, "--control")
        await dialog_shown(pilot, app)
        await pilot.press("n")
        assert join.wait_exit() == DeclinedError.exit_code
        assert (await event(join, "error"))["kind"] == "declined"
        fresh = await code_shown(pilot, app, other_than=code)
        assert fresh != code and app.session is None and not app.ended
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == 130  # left before anyone connected, like Ctrl-C in plain mode


async def test_a_joiner_leaving_mid_question_takes_the_question_away(server):
    app = host_app(server)
    async with app.run_test(size=(80, 24)) as pilot:
        code = await code_shown(pilot, app)
        join = start_join(server, code)
        await dialog_shown(pilot, app)
        join.kill()
        await until(pilot, lambda: not isinstance(app.screen, ApproveDialog), "the dialog to go away")
        await code_shown(pilot, app, other_than=code)
        assert any("left before pairing finished" in line for line in app.event_log.plain)
        assert shown(app.query_one("#host-pending")) == ""


async def test_allow_approves_without_asking_and_the_joiner_leaving_is_shown(server):
    app = host_app(server, auto=True, allowed={"files"})
    async with app.run_test(size=(120, 40)) as pilot:
        code = await code_shown(pilot, app)
        join = start_join(server, code, "--control", "--files")
        assert (await event(join, "connected"))["granted"] == ["files", "view"]
        await until(pilot, lambda: app.status_bar.fields.get("state") == "connected", "connected")
        assert not isinstance(app.screen, ApproveDialog)
        join.send({"quit": True})
        await until(pilot, lambda: app.ended, "the session to end")
        assert "Session closed: the other side left" in chat_text(app)
        assert "Session over" in shown(app.query_one("#host-code"))
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == 0
    assert join.wait_exit() == 0
