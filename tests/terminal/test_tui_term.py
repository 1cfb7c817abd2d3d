"""The joiner's TUI draws a shared shell (host --shell) with the terminal emulator: vim full screen,
then keys typed in control mode reach the host's shell."""

from __future__ import annotations

from rassist.media.join_control import JoinControl
from rassist.pairing import JoinOptions
from rassist.terminal.join import JoinTerminal
from rassist.tui.hooks import TuiHooks
from rassist.tui.join_app import JoinApp
from rassist.tui.widgets.term_view import TermView
from tests.procs import Proc
from tests.tui.pilot import event, screen_text, until


def term_app(code: str, server: str) -> JoinApp:
    hooks = TuiHooks()
    terminal = JoinTerminal(on_update=hooks.on_term)
    hooks.terminal = terminal
    return JoinApp(code, JoinOptions(name="alice@tui", server=server, wants=("view", "control"),
                                     features=[JoinControl(), terminal]), hooks)


def pane_text(app: JoinApp) -> str:
    return "\n".join(line.plain for line in app.query_one(TermView).render().split())


async def test_vim_renders_in_the_tui_pane_and_control_mode_types_into_it(server, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("first line of the notes\n")
    host = Proc(["host", "--shell", "--json", "--allow", "control", "--server", server,
                 "--cast", str(tmp_path / "s.cast"), "--", "vim", "-u", "NONE", "-N", str(target)])
    code = host.wait_event("code")["code"]
    app = term_app(code, server)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.screen_pane.has_class("-terminal"), "the shared terminal")
        await until(pilot, lambda: "first line of the notes" in pane_text(app), "vim's buffer")
        text = pane_text(app)
        assert "~" in text and "notes.txt" in text  # empty-line markers and the status line
        assert "Shared terminal 80x24" in screen_text(app)
        await until(pilot, lambda: app.control == "granted", "control")
        await pilot.press("f2")
        assert app.screen_pane.controlling
        await pilot.press("O", *"typed in the tui", "escape", *":wq", "enter")
        await event(host, "shell-exit")
        await until(pilot, lambda: app.ended, "the session to end")
        assert "Session closed: the shared shell ended" in screen_text(app) or app.ended
    assert target.read_text() == "typed in the tui\nfirst line of the notes\n"
    assert (await event(host, "closed"))["reason"] == "shell-exited"


async def test_top_renders_with_its_colours_and_a_small_pane_says_it_is_clipped(server, tmp_path):
    script = "printf '\\033[1;31mred alert\\033[0m\\n'; exec top -d 1"
    host = Proc(["host", "--shell", "--json", "--yes", "--server", server, "--cast", str(tmp_path / "s.cast"),
                 "--", "sh", "-c", script], env={"TERM": "xterm-256color"})
    code = host.wait_event("code")["code"]
    app = term_app(code, server)
    async with app.run_test(size=(60, 20)) as pilot:  # smaller than the host's 80x24
        await until(pilot, lambda: app.screen_pane.has_class("-terminal"), "the shared terminal")
        await until(pilot, lambda: "PID" in pane_text(app) and "Tasks:" in pane_text(app), "top's screen")
        assert app.screen_pane.border_title.startswith("Clipped: shared terminal 80x24")
        assert "Clipped" in screen_text(app)
        assert "red alert" not in pane_text(app)  # top took the whole screen
        view = app.query_one(TermView)
        header = view.render().split()[0]
        assert header.plain.startswith("top - ")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    host.wait_event("left")
    host.send({"quit": True})
    assert host.wait_exit() == 0


async def test_colours_reach_the_pane(server, tmp_path):
    script = "printf '\\033[1;31mred alert\\033[0m plain\\n'; exec sleep 60"
    host = Proc(["host", "--shell", "--json", "--yes", "--server", server, "--cast", str(tmp_path / "s.cast"),
                 "--", "sh", "-c", script])
    code = host.wait_event("code")["code"]
    app = term_app(code, server)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "red alert" in pane_text(app), "the coloured line")
        line = app.query_one(TermView).render().split()[0]
        styles = {line.plain[span.start:span.end]: span.style for span in line.spans}
        assert styles["red alert"].color.name == "red" and styles["red alert"].bold
        assert "plain" not in styles or styles.get(" plain") is None
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    host.send({"quit": True})
    assert host.wait_exit() == 0
