"""The host's TUI says at start, before anyone joins, that it has no screen to share."""

from __future__ import annotations

import asyncio

from rassist.media.capture import NoDisplayError
from rassist.media.screen import HostScreen
from rassist.pairing import HostOptions
from rassist.tui.host_app import HostApp
from tests.tui.pilot import until


async def never_connects(emit):
    await asyncio.Event().wait()


async def test_no_display_is_said_before_anyone_joins():
    screen = HostScreen()
    screen.error = NoDisplayError("DISPLAY is not set (no X server for this session)")
    app = HostApp(HostOptions(name="desk", features=[screen]), connect=never_connects)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.screen_state is not None, "the screen state")
        assert app.screen_state.startswith("not shared: no display to capture")
        assert any("no display" in line.lower() for line in app.event_log.plain)
