"""Watches the host's X server for input from the person at the machine (issue 13: local wins).

XInput2 raw events (XI_RawKeyPress/Release, XI_RawButtonPress/Release, XI_RawMotion) reach a
client that selects them on the root window whatever window has the focus or a grab, and each
names the slave device it came from (`sourceid`). Our injector's events come from the server's
"XTEST" slave devices (they carry the "XTEST Device" property); the person's come from real
devices. Other programs faking input share the XTEST devices with us, so the XTest connection
reports everything it sends (`injected`) and protocol/local_input.py matches the echoes
(XRecord could not tell us the device at all, and pynput's listener is XRecord underneath).

One LocalInputWatch per host session, shared by every participant's HostControl; its X
connection and thread run while at least one HostControl listens, i.e. while someone may control.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from rassist.protocol.local_input import SUSPEND, LocalInputGuard, Observed

KEY_REPEAT = 1 << 16  # XIKeyRepeat in a raw key event's flags
Listener = Callable[[str], None]  # "paused" | "resumed"


class LocalInputWatch:
    def __init__(self, suspend: float = SUSPEND, clock: Callable[[], float] = time.monotonic) -> None:
        self.guard = LocalInputGuard(suspend)
        self.clock = clock
        self.error: str | None = None  # why local input cannot be watched (remote input then always goes)
        self.xtest_devices: set[int] = set()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._display: Any = None
        self._timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ for HostControl

    async def listen(self, listener: Listener) -> bool:
        """Be told when remote input is paused and resumed; starts watching. False (and
        `error`) when this display cannot be watched."""
        if listener not in self._listeners:
            self._listeners.append(listener)
        if self._thread is None and self.error is None:
            self._loop = asyncio.get_running_loop()
            try:
                await self._loop.run_in_executor(None, self._open)
            except Exception as exc:  # noqa: BLE001 - no X, no XInput2, a refused connection
                self.error = f"cannot watch the host's own mouse and keyboard: {exc}"
                return False
            self._stop = threading.Event()  # a thread of an earlier round may still be ending
            self._thread = threading.Thread(target=self._run, args=(self._display, self._stop),
                                            name="rassist-local-input", daemon=True)
            self._thread.start()
        return self.error is None

    def unlisten(self, listener: Listener) -> None:
        """Stop being told; the last one to go stops the watching."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)
        if not self._listeners:
            self.close()

    def injected(self, kind: str, detail: int, down: bool) -> None:
        """Our injector is about to send this (called from its worker thread)."""
        with self._lock:
            self.guard.injected(kind, detail, down, self.clock())

    def allows(self) -> bool:
        """May remote input be injected now?"""
        with self._lock:
            return self.guard.allows(self.clock())

    # A session-wide feature (the host's shared features): nothing per connection; stopped at the end.
    def prepare(self, pc: object, role: str) -> None:
        pass

    async def start(self, session: object) -> None:
        pass

    async def stop(self) -> None:
        self._listeners.clear()
        self.close()

    def close(self) -> None:
        """Stop watching (the thread notices within 0.1 s and closes its X connection)."""
        self._stop.set()
        self._thread = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # ------------------------------------------------------------ X side (worker threads)

    def _open(self) -> None:
        from Xlib import display
        from Xlib.ext import xinput
        from Xlib.protocol import rq

        name = os.environ.get("DISPLAY", "")
        if not name:
            raise RuntimeError("DISPLAY is not set")
        d = display.Display(name)
        try:
            if not d.has_extension("XInputExtension"):
                raise RuntimeError("the X server has no XInput extension")
            # As an XI 2.2 client: from 2.1 on, raw events reach the root window even while another
            # client holds a grab (a menu, a drag), and the person's input then still counts.
            version = xinput.XIQueryVersion(display=d.display, opcode=d.display.get_extension_major(xinput.extname),
                                            major_version=2, minor_version=2)
            if (version.major_version, version.minor_version) < (2, 0):
                raise RuntimeError("the X server has no XInput 2")
            xtest = d.intern_atom("XTEST Device")
            for device in d.xinput_query_device(xinput.AllDevices).devices:
                atoms = d.xinput_list_device_properties(device.deviceid).atoms
                if xtest in atoms:
                    self.xtest_devices.add(device.deviceid)
            # python-xlib parses no raw events: their fixed part, as XI2proto.h lays it out.
            raw = rq.Struct(xinput.DEVICEID("deviceid"), rq.Card32("time"), rq.Card32("detail"),
                            xinput.DEVICEID("sourceid"), rq.Card16("valuators_len"), rq.Card32("flags"),
                            rq.Pad(4))
            opcode = d.query_extension("XInputExtension").major_opcode
            kinds = (xinput.RawKeyPress, xinput.RawKeyRelease, xinput.RawButtonPress,
                     xinput.RawButtonRelease, xinput.RawMotion)
            mask = 0
            for kind in kinds:
                d.ge_add_event_data(opcode, kind, raw)
                mask |= 1 << kind
            # Master devices: each event once, with the slave it came from as sourceid.
            d.screen().root.xinput_select_events([(xinput.AllMasterDevices, mask)])
            d.sync()
        except BaseException:
            d.close()
            raise
        self._display = d

    def _run(self, d: Any, stop: threading.Event) -> None:
        from Xlib.ext import xinput

        kinds = {xinput.RawKeyPress: ("key", True), xinput.RawKeyRelease: ("key", False),
                 xinput.RawButtonPress: ("button", True), xinput.RawButtonRelease: ("button", False),
                 xinput.RawMotion: ("motion", True)}
        try:
            while not stop.is_set():
                if not d.pending_events():
                    select.select([d.fileno()], [], [], 0.1)
                    continue
                event = d.next_event()
                kind = kinds.get(getattr(event, "evtype", None))
                data = getattr(event, "data", None)
                if kind is None or data is None:
                    continue
                observed = Observed(kind[0], int(data.detail), kind[1], int(data.sourceid) in self.xtest_devices,
                                    repeat=kind[0] == "key" and bool(data.flags & KEY_REPEAT))
                with self._lock:
                    now = self.clock()
                    was_allowed = self.guard.allows(now)
                    local = self.guard.observed(observed, now)
                # Only the start of a pause needs the event loop; its timer follows the extensions.
                if local and was_allowed and self._loop is not None and not self._loop.is_closed():
                    self._loop.call_soon_threadsafe(self._check)
        except Exception:  # noqa: BLE001 - the X server went away: stop watching, input goes on
            pass
        finally:
            with contextlib.suppress(Exception):
                d.close()

    # ------------------------------------------------------------ event loop side

    def _check(self) -> None:
        with self._lock:
            now = self.clock()
            state = self.guard.transition(now)
            until = self.guard.paused_until
        if state is not None:
            for listener in list(self._listeners):
                listener(state)
        if now < until and self._loop is not None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_later(until - now + 0.01, self._check)
