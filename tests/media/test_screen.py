"""The screen over two real in-process aiortc peers: what the viewer decodes matches the screen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from PIL import Image

from rassist.media.screen import HostScreen, ViewScreen
from tests.media.conftest import Painter, connect, psnr, text_screen

Peers = tuple[RTCPeerConnection, RTCPeerConnection]


async def share(peers: Peers) -> tuple[HostScreen, ViewScreen]:
    host_pc, viewer_pc = peers
    host, view = HostScreen(with_cursor=False), ViewScreen()
    host.prepare(host_pc, "host")
    view.prepare(viewer_pc, "join")
    assert host.track is not None
    host.track.release()  # what HostScreen.start does once the session granted "view"
    await connect(host_pc, viewer_pc)
    return host, view


async def test_viewer_decodes_the_screen(painter: Painter, peers: Peers, tmp_path: Path) -> None:
    picture = text_screen(seed=7)
    painter.put(picture)
    host, view = await share(peers)
    try:
        frame = await view.viewer.settled_frame(timeout=30)
        assert (frame.width, frame.height) == (1920, 1080)
        assert psnr(frame.to_ndarray(format="rgb24"), picture) >= 38

        # A change reaches the viewer too.
        changed = picture.copy()
        changed[100:300, 200:700] = (250, 250, 60)
        painter.put(changed[100:300, 200:700], 200, 100)
        await view.viewer.next_frame(timeout=10)
        frame = await view.viewer.settled_frame(timeout=10)
        assert psnr(frame.to_ndarray(format="rgb24"), changed) >= 38
    finally:
        await host.stop()
        await view.stop()


async def test_snapshot_writes_the_screen_as_png(painter: Painter, peers: Peers, tmp_path: Path) -> None:
    picture = text_screen(seed=8)
    painter.put(picture)
    host, view = await share(peers)
    try:
        size = await view.snapshot(tmp_path / "screen.png", timeout=30)
        assert size == (1920, 1080)
        saved = np.asarray(Image.open(tmp_path / "screen.png").convert("RGB"))
        assert saved.shape == (1080, 1920, 3)
        assert psnr(saved, picture) >= 38
    finally:
        await host.stop()
        await view.stop()


async def test_keyframe_request_is_answered_on_an_idle_screen(painter: Painter, peers: Peers) -> None:
    painter.put(text_screen(seed=9))
    host, view = await share(peers)
    assert host.track is not None
    try:
        await view.viewer.settled_frame(timeout=30)
        before = host.track.encoder.keyframes
        frames = view.viewer.frames
        # The receiver reports picture loss the way it does after unrecoverable packet loss.
        receiver = peers[1].getTransceivers()[-1].receiver
        sender = peers[0].getTransceivers()[-1].sender
        await receiver._send_rtcp_pli(sender._ssrc)
        await view.viewer.next_frame(after=frames, timeout=10)
        while host.track.encoder.keyframes == before:
            await view.viewer.next_frame(timeout=10)
        assert host.feedback is not None and host.feedback.keyframe_requests >= 1
    finally:
        await host.stop()
        await view.stop()


async def test_late_joiner_gets_a_still_screen(painter: Painter) -> None:
    picture = text_screen(seed=10)
    painter.put(picture)
    await asyncio.sleep(0.5)  # the screen is still long before anyone joins
    from aiortc import RTCConfiguration

    peers = (RTCPeerConnection(RTCConfiguration(iceServers=[])),
             RTCPeerConnection(RTCConfiguration(iceServers=[])))
    host, view = await share(peers)
    try:
        frame = await view.viewer.settled_frame(timeout=30)
        assert psnr(frame.to_ndarray(format="rgb24"), picture) >= 38
    finally:
        await host.stop()
        await view.stop()
        await asyncio.gather(*(pc.close() for pc in peers))


def test_host_without_display_adds_no_track(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)

    async def go() -> None:
        pc = RTCPeerConnection()
        host = HostScreen()
        host.prepare(pc, "host")
        assert host.track is None and pc.getTransceivers() == []
        assert host.error is not None and host.error.message.startswith("no display to capture: ")
        await pc.close()

    asyncio.run(go())
