"""The screen after a resume (issue 18): the host adds a fresh track to the new peer
connection and the viewer decodes it (it starts with a keyframe), changes included."""

from __future__ import annotations

import asyncio
import contextlib
import os

from rassist.media.screen import HostScreen, ViewScreen
from rassist.resuming import config
from tests.media.conftest import Painter, psnr, text_screen
from tests.sessions import session_pair
from tests.test_session_resume import rendezvous


async def test_the_screen_comes_back_on_the_resumed_link(painter: Painter) -> None:
    picture = text_screen(seed=11)
    painter.put(picture)
    screen, view = HostScreen(with_cursor=False), ViewScreen()
    async with rendezvous() as url:
        host, join, host_events, join_events = await session_pair([screen], [view], {"view"})
        key = os.urandom(32)
        host.first.resume = config(key, "host", [url], 60, False)
        join.first.resume = config(key, "join", [url], 60, False)
        runs = [asyncio.ensure_future(s.run()) for s in (host, join)]
        try:
            frame = await view.viewer.settled_frame(timeout=30)
            assert psnr(frame.to_ndarray(format="rgb24"), picture) >= 38
            first_track = screen.track
            await host.first.peer.close()
            await host_events.wait("reconnected", timeout=60)
            await join_events.wait("reconnected", timeout=60)
            assert screen.track is not first_track
            changed = picture.copy()
            changed[100:300, 200:700] = (250, 250, 60)
            painter.put(changed[100:300, 200:700], 200, 100)
            for _ in range(60):  # frames of the new track, until the change has settled in
                frame = await view.viewer.next_frame(timeout=30)
                if psnr(frame.to_ndarray(format="rgb24"), changed) >= 38:
                    break
            frame = await view.viewer.settled_frame(timeout=30)
            assert psnr(frame.to_ndarray(format="rgb24"), changed) >= 38
        finally:
            for session in (join, host):
                await session.close("quit")
            for run in runs:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(run, 20)
