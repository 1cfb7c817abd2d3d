"""The joiner's TUI, driven by Textual's pilot, against a real `rassist host --json` on loopback."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import TabbedContent

from rassist.errors import AuthError
from rassist.pairing import JoinOptions
from rassist.tui.hooks import TuiHooks
from rassist.tui.join_app import JoinApp
from rassist.tui.stats import LinkStats
from tests.procs import Proc
from tests.tui.pilot import event, screen_text, shown, until


def start_host(server: str, *extra: str) -> tuple[Proc, str]:
    host = Proc(["host", "--json", "--yes", "--name", "helpdesk", "--server", server, *extra])
    return host, host.wait_event("code")["code"]


def join_app(code: str, server: str, features: list | None = None) -> JoinApp:
    opts = JoinOptions(name="alice@tui", server=server, features=features or [])
    return JoinApp(code, opts, TuiHooks())


async def connected(pilot, app: JoinApp) -> None:
    await until(pilot, lambda: app.status_bar.fields.get("state") == "connected", "the session to connect")


def chat_text(app: JoinApp) -> str:
    return "\n".join(app.chat_pane.plain)


async def test_chat_both_ways_then_the_quit_key_closes_the_session_for_the_host(server):
    host, code = start_host(server)
    app = join_app(code, server)
    async with app.run_test(size=(100, 30)) as pilot:
        await connected(pilot, app)
        assert "Connected to helpdesk" in chat_text(app)
        await pilot.press(*"can you see my screen?", "enter")
        got = await event(host, "chat")
        assert (got["from"], got["text"]) == ("alice@tui", "can you see my screen?")
        assert app.query_one("#chat-input").value == ""  # the line is cleared once sent
        host.send({"chat": "yes, all of it"})
        await until(pilot, lambda: "helpdesk: yes, all of it" in chat_text(app), "the host's line")
        assert "you: can you see my screen?" in chat_text(app)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == 0
    assert (await event(host, "closed"))["reason"] == "peer-left"
    assert host.wait_exit() == 0


async def test_the_host_leaving_is_shown_and_the_app_stays_until_quit(server):
    host, code = start_host(server)
    app = join_app(code, server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        host.send({"quit": True})
        await until(pilot, lambda: app.ended, "the session to end")
        assert "Session closed: the other side left" in chat_text(app)
        assert app.status_bar.fields["state"] == "closed"
        assert app.return_code is None  # still open: the person can read the chat
        await pilot.press(*"anyone?", "enter")
        assert "anyone?" not in chat_text(app)  # nothing to send it to
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == 0
    assert host.wait_exit() == 0


async def test_a_wrong_code_is_shown_and_becomes_the_exit_code(server):
    host, code = start_host(server, "--once")
    nameplate, first, last = code.split("-")
    app = join_app(f"{nameplate}-{first}-{'adroitness' if last != 'adroitness' else 'adviser'}", server)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ended, "the pairing to fail")
        assert any("Error (auth)" in line and "wrong code" in line for line in app.event_log.plain)
        assert app.final_message and "wrong code" in app.final_message
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == AuthError.exit_code
    assert host.wait_exit() == AuthError.exit_code


async def test_features_that_are_not_wired_say_so(server):
    host, code = start_host(server)
    app = join_app(code, server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        assert shown(app.query_one("#screen-note")) == "Screen sharing is not available in this session."
        await pilot.press("f4", "f4")
        assert app.query_one(TabbedContent).active == "tab-transfers"
        await pilot.pause()
        assert shown(app.query_one("#transfers-note")) == "File transfer is not available in this session."
        await pilot.press("f2")  # no control feature: F2 explains instead of asking the host
        await pilot.press("f3")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]  # no send dialog opened either
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert (await event(host, "closed"))["reason"] == "peer-left"


async def test_link_stats_reach_the_status_bar(server):
    host, code = start_host(server)
    app = join_app(code, server, features=[LinkStats(interval=0.3)])
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot, app)
        await until(pilot, lambda: app.status_bar.fields.get("rtt_ms") is not None
                    and app.status_bar.fields.get("bitrate_kbps") is not None, "RTT and bitrate figures")
        line = screen_text(app).splitlines()[-2]
        assert "RTT" in line and "kb/s" in line and "LAN" in line and "helpdesk" in line
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert host.wait_exit() == 0


async def test_quit_from_the_command_palette(server):
    host, code = start_host(server)
    app = join_app(code, server)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"quit")
        await pilot.pause(0.3)  # the palette searches as you type
        await pilot.press("enter")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == 0
    assert (await event(host, "closed"))["reason"] == "peer-left"
