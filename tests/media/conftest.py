"""Media test helpers: paint known pixels on the Xvfb screen, connect two real aiortc peers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from PIL import Image, ImageDraw, ImageFont

WORDS = ("sudo systemctl restart nginx journalctl -xe /var/log/syslog kernel: eth0 link up "
         "ssh root@db01 ls -la total drwxr-xr-x error warning info debug 192.0.2.17 "
         "Traceback (most recent call last): File line 42 in main ValueError").split()


def text_screen(width: int = 1920, height: int = 1080, seed: int = 0, size: int = 13) -> np.ndarray:
    """A terminal-like RGB picture: small coloured text on a dark background."""
    rnd = random.Random(seed)
    img = Image.new("RGB", (width, height), (30, 30, 30))
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSansMono.ttf", size)
    except OSError:
        font = ImageFont.load_default(size=size)
    colours = [(220, 220, 220)] * 6 + [(120, 220, 120), (240, 200, 80), (240, 100, 100), (110, 160, 250)]
    y = 4
    while y < height - size:
        line = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 30)))
        draw.text((6, y), line, fill=rnd.choice(colours), font=font)
        y += size + 4
    return np.asarray(img)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


class Painter:
    """Draws RGB arrays straight onto the root window of an X display (python-xlib PutImage)."""

    def __init__(self, display: str) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._X = X
        self.display = xdisplay.Display(display)
        self.root = self.display.screen().root
        self.gc = self.root.create_gc()

    def put(self, rgb: np.ndarray, x: int = 0, y: int = 0) -> None:
        height, width = rgb.shape[:2]
        bgrx = np.empty((height, width, 4), np.uint8)
        bgrx[..., 0], bgrx[..., 1], bgrx[..., 2], bgrx[..., 3] = rgb[..., 2], rgb[..., 1], rgb[..., 0], 0
        rows = max(1, 200_000 // (width * 4))  # keep each request under the core protocol limit
        for top in range(0, height, rows):
            band = bgrx[top:top + rows]
            self.root.put_image(self.gc, x, y + top, width, band.shape[0], self._X.ZPixmap, 24, 0,
                                band.tobytes())
        self.display.sync()

    def close(self) -> None:
        self.display.close()


@pytest.fixture
def painter(display_env: str) -> Iterator[Painter]:
    p = Painter(display_env)
    yield p
    p.close()


async def connect(host: RTCPeerConnection, viewer: RTCPeerConnection) -> None:
    """Offer from the host, answer from the viewer, as rassist pairs them (no signalling server)."""
    host.createDataChannel("ctl", negotiated=True, id=0)
    await host.setLocalDescription(await host.createOffer())
    await viewer.setRemoteDescription(host.localDescription)
    viewer.createDataChannel("ctl", negotiated=True, id=0)
    await viewer.setLocalDescription(await viewer.createAnswer())
    await host.setRemoteDescription(viewer.localDescription)


@pytest.fixture
async def peers() -> AsyncIterator[tuple[RTCPeerConnection, RTCPeerConnection]]:
    host = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    viewer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    yield host, viewer
    await asyncio.gather(host.close(), viewer.close())
