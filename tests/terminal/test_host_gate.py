"""The host is the gate: a joiner that sends raw INPUT or RESIZE frames without control, or
garbage, types nothing and is told; with control its keys reach the shell."""

from __future__ import annotations

import asyncio

from rassist.media.join_control import JoinControl
from rassist.protocol import terminal as wire
from rassist.terminal.control import ShellControl
from rassist.terminal.host import HostTerminal
from rassist.terminal.join import JoinTerminal
from tests.sessions import close_sessions, session_pair


async def test_frames_without_control_are_refused_and_reported(tmp_path):
    marker = tmp_path / "typed"
    term = HostTerminal(["sh"], (80, 24), cast=None)
    await term.open(lambda *a, **k: None)
    control = ShellControl()
    joiner_term = JoinTerminal(events=True)
    host, join, host_events, join_events = await session_pair([term, control], [JoinControl(), joiner_term], granted={"view"})
    try:
        await join_events.wait("term")
        dc = join.channel("term")
        dc.send(wire.encode(wire.Input(f"touch {marker}\n".encode())))  # past the joiner's own check
        dc.send(wire.encode(wire.Resize(100, 30)))
        dc.send(b"\x63garbage")
        dc.send("text is not a frame")
        refused = await host_events.wait("input-refused")
        assert refused["reason"] in ("not-permitted", "malformed")
        await asyncio.sleep(1.2)  # refusals are summed once a second
        total = sum(e["count"] for e in host_events.named("input-refused"))
        assert total == 4
        assert not marker.exists() and (term.cols, term.rows) == (80, 24)
        control.grant()
        await join_events.wait("control", state="granted")
        joiner_term.type_keys(f"touch {marker}\n".encode())
        for _ in range(100):
            if marker.exists():
                break
            await asyncio.sleep(0.05)
        assert marker.exists()
    finally:
        await close_sessions(host, join)
        await term.close()
