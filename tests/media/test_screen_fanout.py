"""One ScreenSource, several viewers over real in-process aiortc peers (Xvfb): everybody decodes
the painted picture from one encoder, a late viewer gets a keyframe at once, a stalled viewer
does not stop the others."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection

from rassist.media.screen import HostScreen, ViewScreen
from rassist.media.screen_source import ScreenSource, ViewerTrack
from tests.media.conftest import Painter, connect, psnr, text_screen


class Viewers:
    """Viewers of one source, each over its own pair of peer connections."""

    def __init__(self, source: ScreenSource) -> None:
        self.source = source
        self.pcs: list[RTCPeerConnection] = []
        self.hosts: list[HostScreen] = []
        self.views: list[ViewScreen] = []

    async def add(self) -> tuple[HostScreen, ViewScreen]:
        host_pc, view_pc = (RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(2))
        self.pcs += [host_pc, view_pc]
        host, view = HostScreen(source=self.source), ViewScreen()
        host.prepare(host_pc, "host")
        view.prepare(view_pc, "join")
        assert isinstance(host.track, ViewerTrack)
        host.track.release()  # what HostScreen.start does once the session granted "view"
        await connect(host_pc, view_pc)
        self.hosts.append(host)
        self.views.append(view)
        return host, view

    async def close(self) -> None:
        for host in self.hosts:
            await host.stop()
        for view in self.views:
            await view.stop()
        await self.source.close()
        await asyncio.gather(*(pc.close() for pc in self.pcs))


async def until_picture(view: ViewScreen, picture: np.ndarray, timeout: float = 40.0) -> float:
    """Until the viewer's picture is `picture` (>= 38 dB PSNR); the host sharpens a still screen
    over several frames, each paced at the viewer's link estimate. Fails after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    best = 0.0
    while loop.time() < deadline:
        frame = view.viewer.latest
        if frame is not None:
            # A 1080p PSNR takes ~0.1 s: off the event loop, a few times a second. On it, for
            # every frame, it stalled the peers' RTCP for seconds and the link estimators took
            # that for a standing queue (the rate fell to ~150 kbit/s on loopback).
            best = max(best, await loop.run_in_executor(None, lambda: psnr(frame.to_ndarray(format="rgb24"), picture)))
            if best >= 38:
                return best
        await asyncio.sleep(0.25)
    raise AssertionError(f"the viewer's picture got to {best:.1f} dB, not 38")


@contextlib.asynccontextmanager
async def viewers() -> AsyncIterator[Viewers]:
    group = Viewers(ScreenSource(with_cursor=False))
    try:
        yield group
    finally:
        await group.close()


async def test_three_viewers_decode_the_screen_from_one_encoder(painter: Painter) -> None:
    picture = text_screen(seed=21)
    painter.put(picture)
    async with viewers() as group:
        for _ in range(3):
            await group.add()
        for view in group.views:
            await until_picture(view, picture, timeout=60)
        changed = picture.copy()
        changed[200:400, 300:900] = (250, 250, 60)
        painter.put(changed[200:400, 300:900], 300, 200)
        for view in group.views:
            await until_picture(view, changed)
        # Encoded once: every viewer's frames came from the one encoder.
        source = group.source
        assert source.track is not None and source.track.encoder.reopens == 1
        for host in group.hosts:
            assert isinstance(host.track, ViewerTrack) and 0 < host.track.frames_sent <= source.frames


async def test_a_late_viewer_gets_a_keyframe_at_once(painter: Painter) -> None:
    picture = text_screen(seed=22)
    painter.put(picture)
    async with viewers() as group:
        _, first = await group.add()
        await until_picture(first, picture, timeout=60)
        await asyncio.sleep(1.5)  # past the keyframe limiter's interval, on a still screen
        keyframes = group.source.keyframes
        _, late = await group.add()
        await until_picture(late, picture)
        assert group.source.keyframes > keyframes  # it did not wait for a change on the screen
        assert group.source.track is not None and group.source.track.encoder.reopens == 1


async def test_a_stalled_viewer_does_not_stop_the_others(painter: Painter) -> None:
    picture = text_screen(seed=23)
    painter.put(picture)
    async with viewers() as group:
        _, good = await group.add()
        stalled_host, stalled = await group.add()
        for view in (good, stalled):
            await until_picture(view, picture, timeout=60)
        # The stalled viewer's network stops taking packets: its sender hangs on the first one.
        pc = group.pcs[2]
        sender = pc.getTransceivers()[0].sender
        dtls = sender._RTCRtpSender__transport  # type: ignore[attr-defined]
        never = asyncio.Event()

        async def hang(data: bytes) -> None:
            await never.wait()

        dtls._send_rtp = hang
        frames_before = good.viewer.frames
        rng = np.random.default_rng(5)
        changed = picture.copy()
        for i in range(150):  # motion: many small changes
            x, y = int(rng.integers(0, 1800)), int(rng.integers(0, 1000))
            changed[y:y + 60, x:x + 100] = rng.integers(0, 255, 3)
            painter.put(changed[y:y + 60, x:x + 100], x, y)
            await asyncio.sleep(0.02)
        await until_picture(good, changed)
        assert good.viewer.frames - frames_before >= 20
        assert isinstance(stalled_host.track, ViewerTrack)
        queue = stalled_host.track.queue
        assert queue.overflows >= 1 or not queue.gating  # it stopped holding the others back
        never.set()


async def test_viewers_in_sessions_share_a_source_and_one_leaving_disturbs_no_one(painter: Painter) -> None:
    from tests.sessions import connected_sessions

    picture = text_screen(seed=24)
    painter.put(picture)
    source = ScreenSource(with_cursor=False)
    try:
        async with connected_sessions([HostScreen(source=source)], [ViewScreen()], {"view"}) as first:
            async with connected_sessions([HostScreen(source=source)], [ViewScreen()], {"view"}) as second:
                for pair in (first, second):
                    await pair.host_events.wait("screen", state="sharing", width=1920, height=1080)
                    await pair.join_events.wait("screen", state="receiving")
                    view = pair.join.features[0]
                    assert isinstance(view, ViewScreen)
                    await until_picture(view, picture, timeout=60)
                assert len(source.viewers) == 2
            assert len(source.viewers) == 1  # the second left; the first goes on
            changed = picture.copy()
            changed[500:700, 100:1100] = (40, 200, 240)
            painter.put(changed[500:700, 100:1100], 100, 500)
            view = first.join.features[0]
            assert isinstance(view, ViewScreen)
            await until_picture(view, changed)
        assert source.viewers == [] and source.track is None  # the last one gone: capture stopped
    finally:
        await source.close()


async def test_a_keyframe_request_from_any_viewer_reaches_the_shared_encoder(painter: Painter) -> None:
    picture = text_screen(seed=25)
    painter.put(picture)
    async with viewers() as group:
        for _ in range(2):
            await group.add()
        for view in group.views:
            await until_picture(view, picture, timeout=60)
        await asyncio.sleep(1.5)  # past the keyframe limiter's interval
        before, frames = group.source.keyframes, [v.viewer.frames for v in group.views]
        # The second viewer reports picture loss, as after unrecoverable packet loss.
        host_pc, view_pc = group.pcs[2], group.pcs[3]
        await view_pc.getTransceivers()[-1].receiver._send_rtcp_pli(host_pc.getTransceivers()[-1].sender._ssrc)
        deadline = asyncio.get_running_loop().time() + 20
        while group.source.keyframes == before:
            assert asyncio.get_running_loop().time() < deadline, "no keyframe after the PLI"
            await asyncio.sleep(0.05)
        assert group.hosts[1].feedback is not None and group.hosts[1].feedback.keyframe_requests >= 1
        for view, count in zip(group.views, frames):  # the keyframe went to both
            await view.viewer.next_frame(after=count, timeout=20)
