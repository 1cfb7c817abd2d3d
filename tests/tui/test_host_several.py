"""The host's TUI with several helpers: F7 invites, the Session pane lists the invitation and then
every helper with its own link figures; a helper's chat line reaches the other helper through the
host."""

from __future__ import annotations

from rassist.pairing import HostOptions
from rassist.tui.host_app import HostApp
from rassist.tui.stats import LinkStats
from tests.procs import Proc
from tests.tui.pilot import event, shown, until


async def test_f7_invites_and_the_pane_lists_the_helpers(server):
    app = HostApp(HostOptions(name="desk", server=server, features=[LinkStats(interval=0.3)],
                              more=lambda: [LinkStats(interval=0.3)], max_joiners=3), auto=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.panel.info.get("code"), "a code")
        first = Proc(["join", app.panel.info["code"], "--json", "--server", server, "--name", "ann"])
        await event(first, "connected")
        await until(pilot, lambda: app.status_bar.fields.get("state") == "connected", "connected")
        await pilot.press("f7")
        await until(pilot, lambda: app.invitations, "an invitation")
        code = next(iter(app.invitations))
        await until(pilot, lambda: f"Invitation: {code}" in shown(app.query_one("#host-peer")), "the code shown")
        second = Proc(["join", code, "--json", "--server", server, "--name", "bob"])
        await event(second, "connected")
        await until(pilot, lambda: "p2 bob" in shown(app.query_one("#host-peer")), "the helpers listed")
        pane = shown(app.query_one("#host-peer"))
        assert "Helpers:" in pane and "p1 ann" in pane and f"Invitation: {code}" not in pane
        # Each helper's link under its line: the second's stats are not the first's.
        await until(pilot, lambda: {"p1", "p2"} <= set(app.links), "both helpers' link figures")
        await until(pilot, lambda: shown(app.query_one("#host-peer")).count("RTT") == 2, "two link lines")
        second.send({"chat": "hello from bob"})
        line = await event(first, "chat", text="hello from bob")
        assert line["from"] == "bob" and line["participant"] == "p2"
        await pilot.press("ctrl+q")
    assert first.wait_exit() == 0 and second.wait_exit() == 0
