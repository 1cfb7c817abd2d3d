"""Running one command: the event loop, Ctrl-C, and errors mapped to exit codes."""

from __future__ import annotations

import asyncio
import os
import signal
import traceback
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from rassist.cli.output import Output
from rassist.errors import RassistError

INTERRUPTED = 130


def run(out: Output, main: Callable[[], Coroutine[Any, Any, int]],
        on_interrupt: Callable[[], bool] | None = None,
        after: Iterable[Callable[[], None] | None] = ()) -> None:
    """Run `main` and exit with its code. `on_interrupt` returns True if it handled Ctrl-C
    gracefully (e.g. by closing a session); otherwise the command is cancelled. Each of `after`
    (None: skipped) is called once the loop is done, whatever happened: a progress view's
    thread, the ticket's last entries."""
    try:
        code = asyncio.run(_guarded(out, main, on_interrupt))
    finally:
        for done in after:
            if done is not None:
                done()
    # SystemExit, not typer.Exit: the same exit code through typer, and no typer needed on the
    # start-up fast path (fastargs.py).
    raise SystemExit(code)


async def _guarded(out: Output, main: Callable[[], Coroutine[Any, Any, int]],
                   on_interrupt: Callable[[], bool] | None) -> int:
    task = asyncio.ensure_future(main())
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        if on_interrupt is None or not on_interrupt():
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        return await task
    except asyncio.CancelledError:
        out.emit("closed", reason="interrupted")
        return INTERRUPTED
    except RassistError as exc:
        out.emit("error", kind=exc.kind, message=exc.message)
        out.emit("closed", reason=exc.kind)
        return exc.exit_code
    except Exception as exc:  # a bug: say so plainly, keep the JSON stream well-formed
        if os.environ.get("RASSIST_DEBUG"):
            traceback.print_exc()
        out.emit("error", kind="internal",
                 message=f"internal error: {type(exc).__name__}: {exc} (set RASSIST_DEBUG=1 for a traceback)")
        out.emit("closed", reason="internal")
        return 1
