"""Lossless stills of the host's screen on request (see rassist/protocol/still.py).

HostStill answers a joiner allowed to view with a PNG of the shared monitor, grabbed and
encoded on a worker thread. ViewStill asks for one and writes it, for `rassist snapshot`."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rassist.protocol import still

MIN_INTERVAL = 1.0  # seconds between two stills for one joiner: grabbing and encoding cost CPU

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

    from rassist.session import Session


def grab_png(monitor: int | None) -> bytes:
    """The monitor as PNG (fast zlib level: the picture crosses a LAN or less at once)."""
    from PIL import Image

    from rassist.media.capture import _open_mss, pick_monitor

    shared = pick_monitor(monitor)
    with _open_mss() as sct:
        shot = sct.grab(shared.region())
    image = Image.frombuffer("RGB", shot.size, shot.bgra, "raw", "BGRX", 0, 1)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


class HostStill:
    def __init__(self, monitor: int | None = None) -> None:
        self.monitor = monitor
        self._session: Session | None = None
        self._busy: asyncio.Future[None] | None = None
        self._last = -MIN_INTERVAL

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        self._session = session
        session.ctl.on(still.REQUEST, self._on_request)

    async def stop(self) -> None:
        if self._busy is not None:
            self._busy.cancel()

    def _on_request(self, msg: dict[str, Any]) -> None:
        session = self._session
        still_id = still.request_id(msg)
        if session is None or still_id is None:
            return
        if "view" not in session.granted:
            session.ctl.send(still.error(still_id, "viewing the screen is not allowed"))
            return
        now = asyncio.get_running_loop().time()
        if (self._busy is not None and not self._busy.done()) or now - self._last < MIN_INTERVAL:
            session.ctl.send(still.error(still_id, "too many stills: one a second at most"))
            return
        self._last = now
        self._busy = asyncio.ensure_future(self._answer(session, still_id))

    async def _answer(self, session: Session, still_id: int) -> None:
        try:
            png = await asyncio.to_thread(grab_png, self.monitor)
            replies = still.chunks(still_id, png)
        except Exception as exc:  # noqa: BLE001 - no display, a grab error: the joiner is told
            session.ctl.send(still.error(still_id, getattr(exc, "message", None) or str(exc)))
            return
        for reply in replies:
            session.ctl.send(reply)


class ViewStill:
    def __init__(self) -> None:
        self._session: Session | None = None
        self._next_id = 0
        self._assembler: still.Assembler | None = None
        self._result: asyncio.Future[bytes] | None = None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        self._session = session
        session.ctl.on(still.REPLY, self._on_reply)

    async def stop(self) -> None:
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def fetch(self, path: Path, timeout: float) -> tuple[int, int]:
        """Ask the host for a still and write it to `path`; returns (width, height).
        Raises StillError (the host refused, or broke the rules) or asyncio.TimeoutError (a
        host that does not know stills)."""
        assert self._session is not None
        self._next_id += 1
        self._assembler = still.Assembler(self._next_id)
        self._result = asyncio.get_running_loop().create_future()
        self._session.ctl.send(still.request(self._next_id))
        png = await asyncio.wait_for(asyncio.shield(self._result), timeout)
        await asyncio.to_thread(_write, path, png)
        return still.png_size(png)

    def _on_reply(self, msg: dict[str, Any]) -> None:
        if self._assembler is None or self._result is None or self._result.done():
            return
        try:
            png = self._assembler.feed(msg)
        except still.StillError as exc:
            self._result.set_exception(exc)
            return
        if png is not None:
            self._result.set_result(png)


def _write(path: Path, png: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        part.write_bytes(png)
        part.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
