"""The remote screen, drawn with the best graphics the terminal has (Kitty or Sixel through
textual-image where the terminal answers its query, coloured half blocks otherwise), and, in
control mode, the place where mouse and keys go to the host.

Frames come from `source` (TuiHooks): the pane draws the newest one at most DRAW_RATE times a
second (less when the terminal is slow to draw), scaling it in a worker thread, so a fast
stream never backs up the UI."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Container
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from rassist.tui.fit import Fit
from rassist.tui.frames import letterbox
from rassist.tui.keys import key_command
from rassist.tui.widgets.halfblocks import HalfBlocks, LineMaker

DRAW_RATE = 12.0
RELEASE_KEY = "f12"
BUTTONS = {1: "left", 2: "middle", 3: "right"}


def picture_widget() -> tuple[type[Widget], tuple[int, int]]:
    """The widget to draw with and the pixels per cell it wants: Kitty or Sixel graphics where
    the terminal has them (textual-image asked it), coloured half blocks otherwise.

    RASSIST_TUI_GRAPHICS=kitty|sixel|halfcell|unicode overrides the detection."""
    from textual_image import renderable
    from textual_image import widget as tiw
    from textual_image._terminal import get_cell_size

    choice = os.environ.get("RASSIST_TUI_GRAPHICS", "auto").lower()
    if choice == "auto":
        choice = {renderable.SixelImage: "sixel", renderable.TGPImage: "kitty"}.get(renderable.Image, "halfcell")
    if choice == "halfcell":
        return HalfBlocks, (1, 2)
    if choice == "unicode":
        return tiw.UnicodeImage, (1, 2)
    cell = get_cell_size()
    return (tiw.SixelImage if choice == "sixel" else tiw.TGPImage), (cell.width, cell.height)


class ScreenPane(Container, can_focus=True):
    DEFAULT_CSS = """
    ScreenPane { border: round $primary-muted; border-title-color: $text; height: 1fr; width: 2fr; }
    ScreenPane:focus { border: round $primary; }
    ScreenPane.-controlling { border: heavy $error; border-subtitle-color: $error; }
    ScreenPane.-annotating { border: heavy $warning; border-subtitle-color: $warning; }
    ScreenPane > #screen-note { width: 100%; height: 100%; content-align: center middle;
                                text-align: center; color: $text-muted; padding: 0 2; }
    ScreenPane > #screen-image { width: 100%; height: 100%; display: none; }
    ScreenPane.-picture > #screen-image { display: block; }
    ScreenPane.-picture > #screen-note { display: none; }
    ScreenPane > #screen-term { display: none; }
    ScreenPane.-terminal > #screen-term { display: block; }
    ScreenPane.-terminal > #screen-note, ScreenPane.-terminal > #screen-image { display: none; }
    """

    controlling: reactive[bool] = reactive(False)
    control_granted: reactive[bool] = reactive(False)
    annotating: reactive[bool] = reactive(False)

    class Input(Message):
        """A remote-input command from the pane (move, click, scroll, text, key)."""

        def __init__(self, command: dict[str, Any]) -> None:
            super().__init__()
            self.command = command

    class Annotate(Message):
        """A mark from the pane in annotate mode: {"point": ...} or {"draw": ...}."""

        def __init__(self, command: dict[str, Any]) -> None:
            super().__init__()
            self.command = command

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stroke: list[list[float]] | None = None  # points of a drag in annotate mode
        self._last_point = 0.0
        self.source: Any = None  # TuiHooks: .frame, .frames
        self.fit: Fit | None = None
        self.drawn = 0           # source.frames at the last draw
        self._drawing = False
        self._next_draw = 0.0
        self._picture_cls, self.cell = picture_widget()
        self._lines = LineMaker()
        self.border_title = "Remote screen"

    def compose(self) -> ComposeResult:
        yield Static("Not connected yet.", id="screen-note")
        yield self._picture_cls(id="screen-image")
        from rassist.tui.widgets.term_view import TermView

        yield TermView(id="screen-term")

    def show_terminal(self, cols: int, rows: int) -> None:
        """The host shares a shell (host --shell): draw it instead of a picture."""
        from rassist.tui.widgets.term_view import TermView

        self.query_one(TermView).source = self.source
        self.add_class("-terminal")
        # As wide as the host's terminal when the window has room (the side panes keep 30 columns).
        fits = self.app.size.width - (cols + 2) >= 30
        if self.styles.width != (want := f"{cols + 2}" if fits else "2fr"):
            self.styles.width = want
        clipped = not fits or 0 < self.content_size.height < rows
        self.border_title = (f"Clipped: shared terminal {cols}x{rows}, widen the window" if clipped
                             else f"Shared terminal {cols}x{rows}")

    def on_mount(self) -> None:
        self._update_subtitle()
        self.set_interval(1 / DRAW_RATE, self._draw)

    def set_note(self, text: str) -> None:
        """Say why there is no picture (and stop showing an old one)."""
        self.query_one("#screen-note", Static).update(text)
        self.remove_class("-picture")

    def on_blur(self) -> None:
        self.controlling = False  # focus went elsewhere: stop sending input

    def watch_controlling(self, controlling: bool) -> None:
        self.set_class(controlling, "-controlling")
        self._update_subtitle()

    def watch_control_granted(self, granted: bool) -> None:
        self._update_subtitle()

    def watch_annotating(self, annotating: bool) -> None:
        self.set_class(annotating, "-annotating")
        self._stroke = None
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        if self.controlling:
            self.border_subtitle = "● CONTROLLING · F12 gives the keys back"
        elif self.annotating:
            self.border_subtitle = "✎ POINTING · move to point, drag to draw · F5 to stop"
        elif self.control_granted:
            self.border_subtitle = "control granted · F2 to take control"
        else:
            self.border_subtitle = "view only"

    async def _draw(self) -> None:
        source = self.source
        if source is None or self._drawing or source.frame is None or source.frames == self.drawn:
            return
        cols, rows = self.content_size.width, self.content_size.height
        if cols <= 0 or rows <= 0 or time.monotonic() < self._next_draw:
            return
        self._drawing = True
        frames, frame = source.frames, source.frame
        picture = self.query_one("#screen-image")
        try:
            if isinstance(picture, HalfBlocks):
                lines, placed = await asyncio.to_thread(self._half_blocks, frame, cols, rows)
            else:
                canvas, placed = await asyncio.to_thread(letterbox, frame, cols, rows, *self.cell)
        except Exception as exc:  # noqa: BLE001 - a bad frame must not take the UI down
            self.drawn = frames
            self.set_note(f"Cannot draw the remote screen: {exc}")
            return
        finally:
            self._drawing = False
        self.drawn, self.fit = frames, placed
        started = time.monotonic()
        if isinstance(picture, HalfBlocks):
            picture.show(lines)
        else:
            picture.image = canvas  # type: ignore[attr-defined]
        self.add_class("-picture")
        self.call_after_refresh(self._pace, started)

    def _half_blocks(self, frame: Any, cols: int, rows: int) -> tuple[list[Any], Fit]:
        canvas, placed = letterbox(frame, cols, rows, *self.cell)
        return self._lines(canvas), placed

    def _pace(self, started: float) -> None:
        """Leave the loop at least twice the time a frame took to show: a slow terminal
        renderer (Sixel, Kitty) lowers the frame rate instead of the UI's responsiveness."""
        cost = time.monotonic() - started
        self._next_draw = started + max(1 / DRAW_RATE, 3 * cost)

    # ---------------------------------------------------------------- control mode input

    def remote_point(self, event: events.MouseEvent) -> list[float] | None:
        if self.fit is None:
            return None
        region = self.content_region
        col, row = event.pointer_screen_x - region.x, event.pointer_screen_y - region.y
        if isinstance(event.pointer_screen_x, int):
            col, row = col + 0.5, row + 0.5  # a whole cell: aim at its middle
        point = self.fit.to_remote(col, row, region.width, region.height)
        return list(point) if point is not None else None

    def _send(self, command: dict[str, Any] | None, event: events.Event) -> None:
        if not self.controlling:
            return
        event.stop()
        event.prevent_default()
        if command is not None:
            self.post_message(self.Input(command))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.annotating:
            self._annotate_move(event)
            return
        point = self.remote_point(event) if self.controlling else None
        self._send({"move": point} if point else None, event)

    # ---------------------------------------------------------------- annotate mode

    ANNOTATE_RATE = 30.0  # pointer marks a second: a smooth trail, well under the host's limit
    STROKE_POINTS = 500

    def _annotate_move(self, event: events.MouseMove) -> None:
        point = self.remote_point(event)
        if point is None:
            return
        if self._stroke is not None:
            if len(self._stroke) < self.STROKE_POINTS and point != self._stroke[-1]:
                self._stroke.append(point)
            return
        now = time.monotonic()
        if now - self._last_point >= 1 / self.ANNOTATE_RATE:
            self._last_point = now
            self.post_message(self.Annotate({"point": point}))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self.annotating and (point := self.remote_point(event)) is not None:
            event.stop()
            self._stroke = [point]

    def on_mouse_up(self, event: events.MouseUp) -> None:
        stroke, self._stroke = self._stroke, None
        if not self.annotating or not stroke:
            return
        event.stop()
        self.post_message(self.Annotate({"draw": stroke} if len(stroke) > 1 else {"point": stroke[0]}))

    def on_click(self, event: events.Click) -> None:
        point = self.remote_point(event) if self.controlling else None
        # Each click goes alone: the host's desktop sees two quick ones as a double click.
        self._send({"click": point, "button": BUTTONS.get(event.button, "left")} if point else None, event)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._send({"scroll": [0, 1]}, event)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._send({"scroll": [0, -1]}, event)

    def on_key(self, event: events.Key) -> None:
        if event.key == RELEASE_KEY:
            return  # the app's binding takes focus back
        self._send(key_command(event.key, event.character), event)
