"""The Textual TUI for `rassist host` and `rassist join`.

Nothing heavy loads here: Textual and textual-image are imported only when a TUI opens, so
`rassist join --json` starts as fast as before. See run.py for the entry points."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rassist.pairing import HostOptions, JoinOptions
    from rassist.tui.hooks import TuiHooks


async def run_join_tui(code: str, opts: JoinOptions, hooks: TuiHooks | None = None) -> int:
    from rassist.tui.run import run_join

    return await run_join(code, opts, hooks)


async def run_host_tui(opts: HostOptions, hooks: TuiHooks | None = None, auto: bool = False,
                       allowed: set[str] | None = None) -> int:
    from rassist.tui.run import run_host

    return await run_host(opts, hooks, auto, allowed)
