"""Helpers for driving the TUI with Textual's pilot against real peers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import RichLog

from tests.procs import Proc

WAIT = 20.0


async def until(pilot: Pilot, condition: Callable[[], Any], what: str, timeout: float = WAIT) -> None:
    """Let the app run until `condition()` is true; fail with `what` if it never is."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def event(proc: Proc, name: str, **match: Any) -> dict[str, Any]:
    """Proc.wait_event without blocking the app's event loop."""
    return await asyncio.to_thread(proc.wait_event, name, **match)


def log_text(log: RichLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text (the SVG screenshot without the styling)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


def shown(widget: Any) -> str:
    """The text a Static shows (markup removed), if it is on screen; "" if it is hidden."""
    if not widget.display or not widget.region.area:
        return ""
    visual = widget.visual
    return visual.plain if hasattr(visual, "plain") else str(visual)
