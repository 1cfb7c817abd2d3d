"""Importing WebRTC (aiortc, av, cryptography, aioice: ~150 ms of CPU) on a worker thread, so the
event loop pairs meanwhile: rendezvous, SPAKE2 and the host's answers are mostly waiting, and
the import fills that wait instead of following it.

One import per process, whoever asks first; everyone else waits for the same one. While it
runs the interpreter switches threads more often: the import holds the GIL almost all the time,
and with the default 5 ms interval every packet the event loop wakes up for would wait that
long to be handled."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import sys
import threading
from collections.abc import Iterable

WEBRTC = "rassist.transport.peer"
SWITCH_INTERVAL = 0.0005  # seconds; the default is 0.005

_lock = threading.Lock()
_started: dict[str, concurrent.futures.Future[None]] = {}
_loading = [0, 0.0]  # loader threads running; the switch interval to restore after the last


def start(modules: Iterable[str] = (WEBRTC,)) -> concurrent.futures.Future[None]:
    """Import `modules` in order on a worker thread (those not asked for before); returns a
    future that is done when all of them are. Import errors are the future's exception."""
    with _lock:
        fresh = [m for m in modules if m not in _started and m not in sys.modules]
        waits = list(dict.fromkeys(_started[m] for m in modules if m in _started))
        if fresh:
            done: concurrent.futures.Future[None] = concurrent.futures.Future()
            for module in fresh:
                _started[module] = done
            if _loading[0] == 0:
                _loading[1] = sys.getswitchinterval()
                sys.setswitchinterval(min(_loading[1], SWITCH_INTERVAL))
            _loading[0] += 1
            threading.Thread(target=_load, args=(fresh, done), name="rassist-preload",
                             daemon=True).start()
            waits.append(done)
    if len(waits) == 1:
        return waits[0]
    together: concurrent.futures.Future[None] = concurrent.futures.Future()
    left = [len(waits)]

    def one_done(future: concurrent.futures.Future[None]) -> None:
        with _lock:  # two loads may end at once, each on its own thread
            left[0] -= 1
            if together.done():
                return
            if future.exception() is not None:
                together.set_exception(future.exception())  # type: ignore[arg-type]
            elif left[0] == 0:
                together.set_result(None)

    if not waits:
        together.set_result(None)
    for wait in waits:
        wait.add_done_callback(one_done)
    return together


async def ready(modules: Iterable[str] = (WEBRTC,)) -> None:
    """Until `modules` are imported (started now if nobody started them)."""
    await asyncio.wrap_future(start(tuple(modules)))


def _load(modules: list[str], done: concurrent.futures.Future[None]) -> None:
    error: BaseException | None = None
    try:
        from rassist.startup import before_webrtc

        before_webrtc()  # aioice's mDNS (and dnspython) only when used
        for module in modules:
            importlib.import_module(module)
    except BaseException as exc:  # noqa: BLE001 - handed to whoever waits, raised there
        error = exc
    with _lock:
        if error is not None:
            for module in modules:
                _started.pop(module, None)  # a later call tries again
        _loading[0] -= 1
        if _loading[0] == 0:
            sys.setswitchinterval(_loading[1])
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(None)
