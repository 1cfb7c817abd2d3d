"""Screen sharing as two session features: HostScreen sends, ViewScreen receives.

Both add their transceiver in `prepare` (before the SDP), so it does not matter which side
makes the offer. The host tells the joiner on the ctl channel whether a screen is coming:
{"t": "screen", "available": true, "width": W, "height": H, "monitor": N} or
{"t": "screen", "available": false, "message": "no display to capture: ..."}.
Nothing is captured until the session has started with the "view" permission granted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from rassist.errors import CommandError, RassistError
from rassist.media.record import Recorder, check_path
from rassist.media.viewer import ScreenViewer, receiver_of

if TYPE_CHECKING:
    from rassist.media.capture import Monitor
    from rassist.media.codec import SenderFeedback
    from rassist.media.screen_source import ScreenSource, ViewerTrack
    from rassist.media.screen_track import ScreenTrack
    from rassist.session import Session


class ScreenUnavailable(RassistError):
    """The joiner asked for the screen but the host has none to share."""

    kind = "no-display"


class HostScreen:
    """Shares one monitor (None: the primary one) with one viewer.

    With a `source` (screen_source.ScreenSource, one per host session) the viewer gets its own
    track fed from the shared capture and encoder; without one, this viewer has a capture and
    an encoder of its own (a ScreenTrack)."""

    def __init__(self, monitor: int | None = None, with_cursor: bool = True,
                 source: ScreenSource | None = None) -> None:
        self.monitor_index = monitor
        self.with_cursor = with_cursor
        self.source = source
        self.monitor: Monitor | None = None
        self.track: ScreenTrack | ViewerTrack | None = None
        self.feedback: SenderFeedback | None = None
        # With a source, no_display() sees a missing display before anyone joins.
        self.error: RassistError | None = source.error if source is not None else None
        self._session: Session | None = None

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        if role != "host":
            return
        if self.source is not None:
            from rassist.media.screen_source import attach_viewer

            if self.source.error is not None or self.source.monitor is None:
                self.error = self.source.error
                return
            self.monitor = self.source.monitor
            track = self.source.viewer(on_error=self._capture_failed)
            self.track = track
            self.feedback = attach_viewer(track, pc.addTransceiver(track, direction="sendonly"))
            return
        # Capture and encoding (numpy, mss, x264 set-up) load here, on the host only.
        from rassist.media.capture import NoDisplayError, pick_monitor
        from rassist.media.screen_track import ScreenTrack, attach_sender

        try:
            self.monitor = pick_monitor(self.monitor_index)
        except NoDisplayError as exc:
            self.error = exc  # reported once the session is up: chat and files still work
            return
        self.track = ScreenTrack(self.monitor, with_cursor=self.with_cursor, on_error=self._capture_failed)
        self.track.hold()
        transceiver = pc.addTransceiver(self.track, direction="sendonly")
        self.feedback = attach_sender(self.track, transceiver)

    async def start(self, session: Session) -> None:
        self._session = session
        if self.error is not None or self.track is None or self.monitor is None:
            error = self.error or RassistError("no display to capture: screen sharing was not set up")
            session.ctl.send({"t": "screen", "available": False, "message": error.message})
            session.emit("error", kind=error.kind, message=error.message)
            return
        if "view" not in session.granted:
            session.ctl.send({"t": "screen", "available": False,
                              "message": "the host did not grant the view permission"})
            return
        m = self.monitor
        session.ctl.send({"t": "screen", "available": True, "width": m.width, "height": m.height,
                          "monitor": m.index})
        session.emit("screen", state="sharing", monitor=m.index, width=m.width, height=m.height)
        self.track.release()

    def _capture_failed(self, exc: BaseException) -> None:
        message = exc.message if isinstance(exc, RassistError) else f"screen capture failed: {exc}"
        if self._session is not None:
            self._session.ctl.send({"t": "screen", "available": False, "message": message})
            self._session.emit("error", kind="no-display", message=message)

    async def stop(self) -> None:
        if self.track is not None:
            self.track.stop()

    async def link_lost(self) -> None:  # resume (issue 18): prepare() adds a fresh track
        await self.stop()

    async def relink(self, session: Session) -> None:  # the fresh track starts with a keyframe
        if self.error is None and self.track is not None and "view" in session.granted:
            await self.start(session)  # else the peer knows already: what it was told is not lost


class ViewScreen:
    """Receives the host's screen: keeps the latest frame, optionally records it.

    `on_frame` is called on the event loop for every decoded frame (the terminal view and the
    TUI use it); `available` resolves to True once a screen is coming, False (with
    `unavailable_reason`) when the host has none to share.
    """

    def __init__(self, record: Path | None = None,
                 on_frame: Callable[[av.VideoFrame], None] | None = None) -> None:
        if record is not None:
            check_path(record)  # a bad suffix is a usage error before anything connects
        self.record = record
        self.recorder: Recorder | None = None
        self.viewer = ScreenViewer(on_frame=on_frame)
        self.available: asyncio.Future[bool] = asyncio.get_event_loop().create_future()
        self.unavailable_reason = ""
        self._session: Session | None = None
        self._announced = False

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        if role != "join":
            return
        # No transceiver of our own: the host's offer says whether a screen comes (a host without
        # a display offers none), and setRemoteDescription makes the receiving side to match.
        pc.on("track", lambda track: self._on_track(track, receiver_of(pc, track)))

    def _on_track(self, track: MediaStreamTrack, receiver: object | None = None) -> None:
        if track.kind != "video":
            return
        if self.record is not None and self.recorder is None:
            self.recorder = Recorder(self.record)
            self.viewer.recorder = self.recorder
        user_callback = self.viewer.on_frame

        def first_frame(frame: av.VideoFrame) -> None:
            if not self._announced and self._session is not None:
                self._announced = True
                self._session.emit("screen", state="receiving", width=frame.width, height=frame.height)
            if user_callback is not None:
                user_callback(frame)

        self.viewer.on_frame = first_frame
        self.viewer.attach(track, receiver)

    async def start(self, session: Session) -> None:
        self._session = session
        session.ctl.on("screen", self._on_screen_message)
        session.add_command("snapshot", self._snapshot_command)

    def _on_screen_message(self, msg: dict[str, Any]) -> None:
        available = msg.get("available") is True
        width, height = msg.get("width"), msg.get("height")
        if available and isinstance(width, int) and isinstance(height, int) \
                and 16 <= width <= 16384 and 16 <= height <= 16384:
            self.viewer.full_size = (width, height)
        if not available:
            self.unavailable_reason = str(msg.get("message", "the host shares no screen"))[:500]
            if self._session is not None:
                self._session.emit("error", kind="no-display", message=self.unavailable_reason)
        if not self.available.done():
            self.available.set_result(available)

    async def snapshot(self, path: Path, timeout: float = 15.0) -> tuple[int, int]:
        """Write the remote screen as PNG once it has settled; returns (width, height).

        Raises ScreenUnavailable when the host shares no screen, asyncio.TimeoutError when no
        frame came within `timeout` seconds."""
        frame_wait = asyncio.ensure_future(self.viewer.settled_frame())
        try:
            await asyncio.wait({frame_wait, self.available}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if self.available.done() and not self.available.result() and self.viewer.latest is None:
                raise ScreenUnavailable(self.unavailable_reason)
            frame = await asyncio.wait_for(frame_wait, timeout)
        finally:
            frame_wait.cancel()
        return await self.viewer.save_png(path, frame)

    async def _snapshot_command(self, cmd: dict[str, Any]) -> None:
        path = cmd.get("snapshot")
        if not isinstance(path, str) or not path:
            raise CommandError('snapshot takes a file name: {"snapshot": "screen.png"}')
        try:
            width, height = await self.snapshot(Path(path))
        except (asyncio.TimeoutError, RassistError) as exc:
            raise CommandError(f"no snapshot: {getattr(exc, 'message', None) or 'no frame received'}") from exc
        if self._session is not None:
            self._session.emit("snapshot", path=path, width=width, height=height)

    async def stop(self) -> None:
        await self.viewer.stop()
        if self.recorder is not None and self._session is not None:
            with contextlib.suppress(Exception):
                self._session.emit("recorded", path=str(self.record), frames=self.recorder.frames_written)

