"""The joiner's TUI says what it waits for: the code first, then the host's approval."""

from __future__ import annotations

import asyncio

from rassist.pairing import JoinOptions
from rassist.tui.join_app import JoinApp
from rassist.tui.widgets.status import StatusBar
from tests.tui.pilot import shown, until


async def test_after_pairing_the_joiner_waits_for_approval_not_for_the_code():
    paired = asyncio.Event()

    async def waits_for_approval(emit):
        await paired.wait()
        emit("waiting", **{"for": "approval"})
        await asyncio.Event().wait()

    app = JoinApp("7-positive-kickoff", JoinOptions(name="alice"), connect=waits_for_approval)
    async with app.run_test(size=(100, 30)) as pilot:
        note = app.query_one("#screen-note")
        await until(pilot, lambda: "Connecting with code 7-positive-kickoff" in shown(note), "the first note")
        paired.set()
        await until(pilot, lambda: "Waiting for the host to approve you" in shown(note), "the approval note")
        assert "waiting for approval" in app.query_one(StatusBar).render().plain
