"""Remote control with consent: the host's session feature (the joiner's: join_control.py).

Host (HostControl): reads the "input" data channel, lets through only what passes the InputGate
(permission, validation, rate, held keys), injects it on a worker thread, and lets go of every
held key and button when control is revoked, the peer goes quiet or leaves, or the session ends.
Joiner (JoinControl): turns stdin commands into wire events, throttles pointer moves to one per
frame, and keeps the host's watchdog fed while it holds a key or button.

Control messages on the "ctl" channel:
    joiner -> host  {"t":"control-request"}
    host -> joiner  {"t":"control","granted":true|false[,"reason":"..."]}  (also at start, when
                    pairing granted control: the joiner sends input only once it has this)
    host -> joiner  {"t":"input-refused","reason":"...","count":n,"message":"..."}
    host -> joiner  {"t":"control-pause","state":"paused"|"resumed"}  (local input wins: local_input.py)
Stdin commands: joiner {"request": "control"}, move/click/scroll/text/key (see protocol/input.py);
host {"grant": "control"}, {"revoke": "control"}.
Events: {"event":"control","state":"granted"|"revoked"|"requested"|"declined"|"paused"|"resumed", ...},
"control-request" and "input-refused" and "input-released" on the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiortc import RTCPeerConnection

from rassist.errors import CommandError
from rassist.media.inject import AsyncInjector, InjectorUnavailable, Monitor
from rassist.media.local_input import LocalInputWatch
from rassist.protocol.input import (
    HOLD_TIMEOUT,
    Hold,
    InputError,
    InputEvent,
    InputGate,
    coalesce_moves,
)
from rassist.protocol.permissions import CONTROL
from rassist.protocol.ratelimit import TokenBucket
from rassist.protocol.refusals import RefusalReport, RefusalReporter
from rassist.session import Session

log = logging.getLogger("rassist.control")
TICK = 0.25              # host housekeeping: silent-peer watchdog, pending refusal reports
REQUEST_RATE, REQUEST_BURST = 0.1, 3.0  # a joiner's requests for control: 3 at once, then 1 per 10 s

Clock = Callable[[], float]
Ask = Callable[[str], Awaitable[bool]]


class HostControl:
    """The host's side. `monitor` is the shared monitor (mss geometry; the first monitor if None).
    `ask`, if given, decides a joiner's later request for control (a prompt in the CLI or TUI);
    without it the request becomes a "control-request" event, answered by {"grant": "control"}.
    `local` (one per host session) pauses remote input while the person at the host uses theirs."""

    def __init__(self, monitor: Monitor | Mapping[str, int] | None = None, *, ask: Ask | None = None,
                 rate: float = 1000.0, burst: float = 1000.0, clock: Clock = time.monotonic,
                 local: LocalInputWatch | None = None) -> None:
        self.monitor = Monitor.from_mss(monitor) if isinstance(monitor, Mapping) else monitor
        self.ask = ask
        self.local = local
        self.clock = clock
        self.gate = InputGate(rate, burst)
        self.reporter = RefusalReporter()
        self.session: Session | None = None
        self.injector: AsyncInjector | None = None
        self._queue: list[InputEvent] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_heard = clock()
        self._releasing: asyncio.Lock | None = None
        self._stopped = False
        self.received = 0  # messages on the input channel, refused or not
        # A joiner asking again and again must not bury the host in questions: one pending
        # question at a time, and at most a few requests a minute.
        self._requests = TokenBucket(REQUEST_RATE, REQUEST_BURST)
        self._asking = False

    # ------------------------------------------------------------ feature protocol

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        # The host prepares a fresh connection for every code it hands out: only the one that
        # carries our session may release anything when it fails.
        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState in ("failed", "closed") and self.session is not None and self.session.pc is pc:
                self._release_soon("connection-lost")

    async def start(self, session: Session) -> None:
        self.session = session
        self._releasing = asyncio.Lock()
        session.ctl.on("control-request", self._on_request)
        session.add_permission(CONTROL, self.grant, self.revoke)
        self._tasks = [asyncio.ensure_future(self._pump()), asyncio.ensure_future(self._tick())]
        if CONTROL in session.granted:  # granted in the approval prompt or with --allow control
            try:
                await self._open()
            except InjectorUnavailable as exc:
                session.granted.discard(CONTROL)
                session.ctl.send({"t": "control", "granted": False, "reason": str(exc)})
                session.emit("error", kind="control", message=str(exc))
            else:
                session.ctl.send({"t": "control", "granted": True})
                session.emit("control", state="granted", peer=session.peer_name)
        # Listen last: input that arrived early (the peer keeps it) meets an open injector.
        session.listen("input", self._on_message)
        session.channel("input").on("close", lambda: self._release_soon("channel-closed"))

    async def link_lost(self) -> None:
        """The link dropped (a resume begins): every held key and button goes up at once."""
        await self._release("connection-lost")

    async def relink(self, session: Session) -> None:
        """A resumed link: input comes on its new channel (the listener carries over)."""
        session.channel("input").on("close", lambda: self._release_soon("channel-closed"))

    async def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.local is not None:
            self.local.unlisten(self._on_local)
        await self._release("session-ended")
        self._report(self.reporter.flush(self.clock()))
        if self.injector is not None:
            with contextlib.suppress(Exception):
                await self.injector.close()
            self.injector = None

    # ------------------------------------------------------------ granting

    @property
    def granted(self) -> bool:
        return self.session is not None and CONTROL in self.session.granted

    async def grant(self) -> None:
        """Hand control to the joiner (the host's own choice). Raises CommandError if this
        machine cannot inject input."""
        session = self._session()
        if self._stopped:
            raise CommandError("the session has ended")
        try:
            await self._open()
        except InjectorUnavailable as exc:
            raise CommandError(str(exc)) from None
        if CONTROL in session.granted:
            return
        session.granted.add(CONTROL)
        session.ctl.send({"t": "control", "granted": True})
        session.emit("control", state="granted", peer=session.peer_name)

    async def revoke(self, reason: str = "revoked by the host") -> None:
        """Take control back at once: nothing more is injected, everything held is released."""
        session = self._session()
        was_granted = CONTROL in session.granted
        session.granted.discard(CONTROL)
        await self._release("revoked")
        if was_granted:
            session.ctl.send({"t": "control", "granted": False, "reason": reason})
            session.emit("control", state="revoked", peer=session.peer_name)

    async def _on_request(self, msg: dict[str, Any]) -> None:
        session = self._session()
        if CONTROL in session.granted:  # the joiner missed our grant: say it again
            session.ctl.send({"t": "control", "granted": True})
            return
        if self._asking:
            return  # the host is being asked right now: the answer to that one will come
        if not self._requests.allow(self.clock()):
            session.ctl.send({"t": "control", "granted": False,
                              "reason": "asked too often: wait a few seconds before asking again"})
            return
        session.emit("control-request", peer=session.peer_name)
        if self.ask is None:
            return
        self._asking = True
        try:
            allowed = await self.ask(session.peer_name)
        finally:
            self._asking = False
        if allowed:
            try:
                # Through the session's table when it has one: control leaves whoever holds it.
                await getattr(session, "grant_control", self.grant)()
                return
            except CommandError as exc:
                session.emit("error", kind="control", message=exc.message)
                reason = exc.message
        else:
            reason = "declined by the host"
        session.ctl.send({"t": "control", "granted": False, "reason": reason})
        session.emit("control", state="declined", peer=session.peer_name)

    async def _open(self) -> None:
        if self.injector is not None:
            return
        monitor = self.monitor or _first_monitor()
        injector = AsyncInjector(monitor, self.local.injected if self.local is not None else None)
        await injector.open()
        self.monitor, self.injector = monitor, injector
        if self.local is not None and not await self.local.listen(self._on_local):
            log.warning("%s", self.local.error)  # remote input then goes through regardless

    def _on_local(self, state: str) -> None:
        """The person at the host took over ("paused") or left it ("resumed")."""
        session = self.session
        if session is None or not self.granted:
            return
        if state == "paused":
            self._release_soon("local-input")
        session.ctl.send({"t": "control-pause", "state": state})
        session.emit("control", state=state, peer=session.peer_name, reason="local-input")

    # ------------------------------------------------------------ input path

    def _on_message(self, data: str | bytes) -> None:
        """aiortc calls this on its event loop: no awaiting, no raising."""
        now = self.clock()
        self.received += 1
        self._last_heard = now  # any word at all proves the peer is still there
        allowed = self.granted and self.injector is not None and not self._stopped
        try:
            event = self.gate.receive(data, allowed, now)
        except InputError as exc:
            report = self.reporter.refused(exc, now)
            if report is not None:
                self._report([report])
            return
        if event is None or isinstance(event, Hold):
            return
        self._queue.append(event)
        self._wake.set()

    async def _pump(self) -> None:
        """Inject in arrival order, dropping moves that newer moves made stale."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = coalesce_moves(self._queue), []
            if not batch or self.injector is None or (self.local is not None and not self.local.allows()):
                continue
            try:
                await self.injector.apply_all(batch)
            except Exception as exc:  # noqa: BLE001 - an X error must not end the session
                log.warning("input injection failed", exc_info=True)
                self._session().emit("error", kind="control", message=f"input injection failed: {exc}")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            now = self.clock()
            if len(self.gate.held) and now - self._last_heard > HOLD_TIMEOUT:
                await self._release("peer-silent")
            if self.reporter.waiting:
                self._report(self.reporter.due(now))

    def _release_soon(self, reason: str) -> None:
        if self._releasing is not None and not self._stopped:
            asyncio.ensure_future(self._release(reason))

    async def _release(self, reason: str) -> None:
        """Nothing queued is injected any more; every held key and button goes up."""
        if self._releasing is None:
            return
        async with self._releasing:
            self._queue.clear()
            self.gate.release_all()
            released = await self.injector.release_all() if self.injector is not None else []
        if released and self.session is not None:
            self.session.emit("input-released", peer=self.session.peer_name, reason=reason, released=released)

    def _report(self, reports: list[RefusalReport]) -> None:
        session = self.session
        if session is None:
            return
        for report in reports:
            session.tell("input-refused", reason=report.reason, count=report.count, message=report.message)

    def _session(self) -> Session:
        if self.session is None:
            raise CommandError("remote control has not started")
        return self.session


def _first_monitor() -> Monitor:
    """The first real monitor mss sees (mss's monitors[0] is all of them together)."""
    try:
        import mss

        with mss.mss() as screen:
            return Monitor.from_mss(screen.monitors[1] if len(screen.monitors) > 1 else screen.monitors[0])
    except Exception as exc:  # noqa: BLE001 - mss raises its own ScreenShotError and X errors
        raise InjectorUnavailable(f"cannot find the monitor to control: {exc}") from None
