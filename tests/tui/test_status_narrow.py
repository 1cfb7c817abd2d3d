"""At 80x24 the status bar keeps every figure (written shorter), not the first few."""

from __future__ import annotations

from rassist.tui.widgets.status import StatusBar
from tests.tui.test_dialogs import offline_app

ROUTE = {"local": "host", "remote": "host"}


async def test_every_figure_fits_at_80_columns():
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set(state="controlling", peer="helpdesk@desk", route=ROUTE, rtt_ms=3.2, bitrate_kbps=1830.5,
                fps=14.8, loss=0.002, permissions="view, control")
        await pilot.pause()
        line = bar.render().plain
        for figure in ("controlling", "helpdesk@desk", "LAN", "RTT 3ms", "1.8Mb/s", "15fps", "loss 0.2%",
                       "view+control"):
            assert figure in line, line
        assert len(line) <= 78


async def test_a_wide_terminal_keeps_the_roomy_spelling():
    app = offline_app()
    async with app.run_test(size=(140, 30)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set(state="connected", peer="desk", route=ROUTE, rtt_ms=3.2, bitrate_kbps=640, fps=15, loss=0.0)
        await pilot.pause()
        assert "RTT 3 ms │ 640 kb/s │ 15 fps │ loss 0.0%" in bar.render().plain
