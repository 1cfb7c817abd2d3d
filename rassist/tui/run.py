"""Open the TUI on this terminal, run the session inside it, return the exit code."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rassist.pairing import HostOptions, JoinOptions
    from rassist.tui.app import SessionApp
    from rassist.tui.hooks import TuiHooks


def probe_terminal() -> None:
    """textual-image asks the terminal about graphics and cell size on import; that only works
    before Textual owns stdin, so import it first."""
    import textual_image.widget  # noqa: F401


async def run_join(code: str, opts: JoinOptions, hooks: TuiHooks | None = None) -> int:
    probe_terminal()
    from rassist.tui.join_app import JoinApp

    return await _run(JoinApp(code, opts, hooks))


async def run_host(opts: HostOptions, hooks: TuiHooks | None = None, auto: bool = False,
                   allowed: set[str] | None = None) -> int:
    probe_terminal()
    from rassist.tui.host_app import HostApp

    return await _run(HostApp(opts, hooks, auto=auto, allowed=allowed))


async def _run(app: SessionApp) -> int:
    try:
        await app.run_async()
    finally:
        if app.hooks is not None:
            app.hooks.attach(None)  # from now on Ctrl-C/SIGTERM go back to the CLI's default
    if app.final_message:  # the screen is gone: say why once more where it stays visible
        from rassist.protocol.display import visible

        print(f"rassist: {visible(app.final_message)}", file=sys.stderr)
    if app.return_code is not None:
        return app.return_code
    return app.outcome if app.outcome is not None else 1
