"""Remote control, the joiner's side (the host's is media/control.py, the wire in its docstring):
stdin commands and the TUI's raw events become wire events, pointer moves are throttled to one
per frame, and the host's watchdog is kept fed while a key or button is held."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rassist.errors import CommandError
from rassist.protocol.permissions import CONTROL, only_control
from rassist.session import Session

if TYPE_CHECKING:
    from aiortc import RTCDataChannel, RTCPeerConnection

    from rassist.protocol import input as wire
    from rassist.protocol.input import InputEvent
else:  # the input events' code loads once control is granted or asked for (rassist/lazy.py)
    from rassist.lazy import LazyModule

    wire = LazyModule("rassist.protocol.input")

MOVE_BACKLOG = 16 * 1024  # bytes queued on the input channel past which moves wait their turn
# Moves go out at most this often: half a 60 Hz frame, so that with the transport on top the
# host's pointer stays within a frame of the joiner's hand, at 120 small messages a second.
MOVE_INTERVAL = 1 / 120
CONFIRM_TIMEOUT = 5.0     # how long a joiner's command waits for the host to confirm control
Clock = Callable[[], float]


class JoinControl:
    """The joiner's side: stdin commands and the TUI's raw events go out as wire events.

    Input goes out only once the host has confirmed control with a "control" message (it sends
    one as it starts, once it can inject): a host that cannot, or has no control feature at all,
    then gets a clear error instead of silently dropped input. Commands wait for it up to
    CONFIRM_TIMEOUT seconds."""

    def __init__(self, move_interval: float = MOVE_INTERVAL, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.move_interval = move_interval
        self.session: Session | None = None
        self.dc: RTCDataChannel | None = None
        self.sent = 0
        self._timer: asyncio.TimerHandle | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._stopped = False
        self._confirmed = asyncio.Event()

    @cached_property
    def throttle(self) -> wire.MoveThrottle:
        return wire.MoveThrottle(self.move_interval)

    @cached_property
    def held(self) -> wire.HeldInputs:
        """The keys and buttons we hold down at the host."""
        return wire.HeldInputs()

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass  # nothing to negotiate: the "input" channel belongs to every peer connection

    async def start(self, session: Session) -> None:
        self.session = session
        self.dc = session.channel("input")
        session.ctl.on("control", self._on_control)
        session.ctl.on("input-refused", self._on_refused)
        session.ctl.on("control-pause", self._on_pause)
        session.add_command("request", self._request_command)
        for name in ("move", "click", "scroll", "text", "key"):
            session.add_command(name, self._input_command)

    async def link_lost(self) -> None:
        """No input goes out while the link is down (the host let go of everything)."""
        self.dc = None
        self.throttle.pending = None
        self.held.release_all()

    async def relink(self, session: Session) -> None:
        self.dc = session.channel("input")

    async def stop(self) -> None:
        self._stopped = True  # a late "granted" starts no keep-alive that nobody would cancel
        if self._timer is not None:
            self._timer.cancel()
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive

    @property
    def granted(self) -> bool:
        """Control granted and confirmed by the host: input may go out."""
        return self.session is not None and CONTROL in self.session.granted and self._confirmed.is_set()

    async def wait_granted(self, timeout: float = CONFIRM_TIMEOUT) -> None:
        """Until the host confirms control; CommandError if it is not granted or does not come."""
        if self.session is None or CONTROL not in self.session.granted:
            raise CommandError('control is not granted; ask for it with {"request": "control"}')
        try:
            await asyncio.wait_for(self._confirmed.wait(), timeout)
        except TimeoutError:
            raise CommandError(f"the host did not confirm control within {timeout:g} s") from None

    def request(self) -> None:
        """Ask the host for control; the answer arrives as a "control" event."""
        session = self._session()
        session.ctl.send({"t": "control-request"})
        session.emit("control", state="requested", peer=session.peer_name)

    def send(self, event: InputEvent) -> None:
        """Send one wire event now (moves: at most one per frame). Raises CommandError."""
        if not self.granted:
            raise CommandError('control is not granted; ask for it with {"request": "control"}')
        dc = self.dc
        if dc is None or dc.readyState != "open":
            raise CommandError("the input channel is not open")
        now = self.clock()
        if isinstance(event, wire.Move):
            move = self.throttle.offer(event, now) if dc.bufferedAmount <= MOVE_BACKLOG else None
            if move is None:
                self.throttle.pending = event
                self._schedule()
                return
            self._put(move)
            return
        try:
            self.held.admit(event)
        except wire.InputError as exc:
            raise CommandError(str(exc)) from None
        pending = self.throttle.flush(now)  # keep order: the pointer first, then the click
        if pending is not None:
            self._put(pending)
        self._put(event)

    async def _input_command(self, cmd: dict[str, Any]) -> None:
        if not self.granted:
            await self.wait_granted()
        try:
            events = wire.parse_command(cmd)
        except wire.InputError as exc:
            raise CommandError(str(exc)) from None
        sent: list[InputEvent] = []
        try:
            for event in events:
                self.send(event)
                sent.append(event)
        except CommandError:
            # Half a chord must not stay down: let go of what this command pressed.
            for event in reversed(sent):
                release = (wire.Key(event.key, False) if isinstance(event, wire.Key) and event.down
                           else wire.Button(event.button, False) if isinstance(event, wire.Button) and event.down
                           else None)
                if release is not None:
                    with contextlib.suppress(CommandError):
                        self.send(release)
            raise

    def _request_command(self, cmd: dict[str, Any]) -> None:
        only_control(cmd, "request")
        if self.granted:
            raise CommandError("control is already granted")
        self.request()

    def _put(self, event: InputEvent) -> None:
        assert self.dc is not None
        self.dc.send(wire.encode(event))
        self.sent += 1

    def _schedule(self) -> None:
        if self._timer is not None:
            return
        deadline = self.throttle.deadline
        delay = max(0.0, (deadline - self.clock()) if deadline is not None else self.throttle.interval)
        self._timer = asyncio.get_running_loop().call_later(delay, self._due)

    def _due(self) -> None:
        self._timer = None
        dc = self.dc
        if not self.granted or dc is None or dc.readyState != "open":
            self.throttle.pending = None
            return
        if dc.bufferedAmount > MOVE_BACKLOG:  # a slow link: send the latest position later
            self._timer = asyncio.get_running_loop().call_later(self.throttle.interval, self._due)
            return
        move = self.throttle.flush(self.clock())
        if move is not None:
            self._put(move)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(wire.HOLD_INTERVAL)
            if len(self.held) and self.granted and self.dc is not None and self.dc.readyState == "open":
                self._put(wire.Hold())

    def _on_control(self, msg: dict[str, Any]) -> None:
        session = self._session()
        granted = msg.get("granted")
        if not isinstance(granted, bool):
            return
        reason = msg.get("reason") if isinstance(msg.get("reason"), str) else None
        if granted:
            session.granted.add(CONTROL)
            if not self._confirmed.is_set():  # the host may confirm twice (see the class docstring)
                self._confirmed.set()
                if self._keepalive is None and not self._stopped:  # held keys keep the host's watchdog fed
                    self._keepalive = asyncio.ensure_future(self._keep_alive())
                session.emit("control", state="granted", peer=session.peer_name)
            return
        was_granted = CONTROL in session.granted
        session.granted.discard(CONTROL)
        self._confirmed.clear()
        self.held.release_all()  # the host let go of everything already
        self.throttle.pending = None
        fields = {"reason": reason} if reason else {}
        session.emit("control", state="revoked" if was_granted else "declined",
                     peer=session.peer_name, **fields)

    def _on_pause(self, msg: dict[str, Any]) -> None:
        state = msg.get("state")
        if state in ("paused", "resumed") and self.session is not None:
            reason = {"reason": "the person at the host is using the mouse or keyboard"} if state == "paused" else {}
            self.session.emit("control", state=state, peer=self.session.peer_name, **reason)

    def _on_refused(self, msg: dict[str, Any]) -> None:
        count, reason = msg.get("count"), msg.get("reason")
        message = msg.get("message") if isinstance(msg.get("message"), str) else reason
        if isinstance(count, int) and isinstance(reason, str):
            self._session().emit("error", kind="input-refused",
                                 message=f"the host refused {count} input event(s) ({reason}): {message}")

    def _session(self) -> Session:
        if self.session is None:
            raise CommandError("remote control has not started")
        return self.session
