"""What the CLI hands to session features before the TUI exists: a frame sink, a control prompt,
an interrupt handler. No Textual import here: the CLI builds these while it builds the features.

    hooks = TuiHooks()
    features = [ViewScreen(on_frame=hooks.on_frame), HostControl(ask=hooks.ask_control), ...]
    run(out, main, on_interrupt=hooks.interrupt)   # main awaits run_join_tui(code, opts, hooks)
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Protocol


class _App(Protocol):
    """The parts of the running app the hooks talk to (see rassist/tui/app.py)."""

    async def ask_control(self, peer: str) -> bool: ...
    def request_quit(self) -> None: ...


class TuiHooks:
    def __init__(self) -> None:
        self.frame: Any = None   # newest decoded frame: av.VideoFrame, PIL image or numpy array
        self.frames = 0          # how many arrived; the screen pane renders when this moves
        self._arrivals: deque[float] = deque(maxlen=120)
        self._app: _App | None = None
        self.terminal: Any = None  # JoinTerminal: a shell the host shares (host --shell)
        self.term_updates = 0      # moves when it has new output; the pane redraws then

    def attach(self, app: _App | None) -> None:
        self._app = app

    def on_frame(self, frame: Any) -> None:
        """ViewScreen's on_frame: keep the newest frame only; the pane draws at its own pace."""
        self.frame = frame
        self.frames += 1
        self._arrivals.append(time.monotonic())

    def on_term(self) -> None:
        """JoinTerminal's on_update."""
        self.term_updates += 1

    def fps(self, window: float = 2.0) -> float | None:
        """Frames per second lately; None before the first frame (no screen is no figure)."""
        if not self.frames:
            return None
        now = time.monotonic()
        return sum(1 for t in self._arrivals if t >= now - window) / window

    async def ask_control(self, peer: str) -> bool:
        """HostControl's `ask`: a modal in the TUI; refuse when no TUI is there to ask."""
        if self._app is None:
            return False
        return await self._app.ask_control(peer)

    def interrupt(self) -> bool:
        """cli.run's on_interrupt (SIGINT/SIGTERM): close the session politely and leave the TUI."""
        if self._app is None:
            return False
        self._app.request_quit()
        return True
