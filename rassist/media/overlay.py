"""The annotation overlay: helpers' marks drawn on the host's real X screen.

One override-redirect window over the shared monitor, shaped so that only the drawn pixels
belong to it (no compositor needed; with one it looks the same), with an empty input shape so
every click and key goes to the windows below. Because the marks are on the screen itself, the
capture sees them: every viewer, snapshot and recording shows them without extra work.

python-xlib is synchronous, so the overlay runs on its own thread with its own X connection.
The asyncio side changes the Board under `lock` and calls `wake()`; the thread redraws at most
FPS times a second, and again whenever something fades.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from rassist.media.inject import Monitor
from rassist.protocol.annotate import Board, Dot, Line, Shape, Text

log = logging.getLogger("rassist.overlay")
FPS = 30
DOT_RADIUS = 9
FONT = "-misc-fixed-bold-r-normal--18-*-*-*-*-*-iso10646-1"
FALLBACK_FONT = "fixed"


class OverlayUnavailable(RuntimeError):
    """No X display to draw on, or it lacks the SHAPE extension."""


def _printable(text: str) -> str:
    # Core X fonts draw 8-bit strings: keep what Latin-1 can show, mark the rest.
    return "".join(c if " " <= c <= "~" or "\xa0" <= c <= "\xff" else "?" for c in text)


class Overlay:
    """Draws `board` over `monitor` until close(). Raises OverlayUnavailable on start()."""

    def __init__(self, board: Board, monitor: Monitor, clock: Callable[[], float] = time.monotonic) -> None:
        self.board = board
        self.monitor = monitor
        self.clock = clock
        self.lock = threading.Lock()
        self.redraws = 0
        self._wake_r, self._wake_w = os.pipe()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._x: Any = None

    def start(self) -> None:
        if not os.environ.get("DISPLAY"):
            raise OverlayUnavailable("annotations need an X display, and DISPLAY is not set")
        try:
            self._x = _XWindow(self.monitor)
        except OverlayUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - Xlib raises many kinds on a bad display
            raise OverlayUnavailable(f"cannot draw on X display {os.environ.get('DISPLAY')}: {exc}") from None
        self._thread = threading.Thread(target=self._run, name="rassist-overlay", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"!")

    def close(self) -> None:
        self._stop = True
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._x is not None:
            with contextlib.suppress(Exception):
                self._x.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _run(self) -> None:
        x = self._x
        last = 0.0
        while not self._stop:
            now = self.clock()
            with self.lock:
                due = self.board.next_change(now)
                dirty = self.board.changed or (due is not None and due <= now)
            wait = 1.0 if due is None else max(0.0, due - now)
            if dirty:
                wait = max(0.0, last + 1 / FPS - now)
            try:
                ready, _, _ = select.select([self._wake_r, x.fileno()], [], [], min(wait, 1.0))
            except (OSError, ValueError):
                return
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
            try:
                exposed = x.exposed()
                now = self.clock()
                if (dirty and now >= last + 1 / FPS) or exposed:
                    with self.lock:
                        shapes = self.board.scene(now)
                    x.draw(shapes)
                    self.redraws += 1
                    last = now
            except Exception:  # noqa: BLE001 - a lost X server ends the overlay, not the session
                log.warning("the annotation overlay stopped", exc_info=True)
                return


class _XWindow:
    """The X side: one shaped, input-transparent window and what is drawn in it."""

    def __init__(self, monitor: Monitor) -> None:
        from Xlib import X, display
        from Xlib.ext import shape

        self.X, self.shape = X, shape
        self.display = display.Display()
        if not self.display.has_extension("SHAPE"):
            self.display.close()
            raise OverlayUnavailable("the X server has no SHAPE extension: cannot draw a see-through overlay")
        self.monitor = monitor
        screen = self.display.screen()
        self.window = screen.root.create_window(
            monitor.left, monitor.top, monitor.width, monitor.height, 0, screen.root_depth,
            X.InputOutput, X.CopyFromParent, background_pixel=screen.black_pixel,
            override_redirect=True, backing_store=X.Always, event_mask=X.ExposureMask)
        self.window.set_wm_name("rassist annotations")
        # Nothing of it takes input, ever: an empty input shape.
        self.window.shape_rectangles(shape.SO.Set, shape.SK.Input, X.Unsorted, 0, 0, [])
        self.mask = self.window.create_pixmap(monitor.width, monitor.height, 1)
        self.mask_gc = self.mask.create_gc(foreground=0, background=0)
        self.gc = self.window.create_gc(foreground=screen.white_pixel, background=screen.black_pixel)
        self.char_width = 10
        self.font = self._font()
        if self.font is not None:
            self.mask_gc.change(font=self.font)
            self.gc.change(font=self.font)
        self.colormap = screen.default_colormap
        self._pixels: dict[str, int] = {}
        self.white = screen.white_pixel
        self._set_shape([])  # start invisible
        self.window.map()
        self.display.sync()

    def _font(self) -> Any:
        for name in (FONT, FALLBACK_FONT):
            with contextlib.suppress(Exception):
                font = self.display.open_font(name)
                # Raises BadName if the font does not exist; fixed fonts have one width.
                self.char_width = max(1, font.query().max_bounds.character_width)
                return font
        return None

    def fileno(self) -> int:
        return self.display.fileno()

    def exposed(self) -> bool:
        seen = False
        while self.display.pending_events():
            seen |= self.display.next_event().type == self.X.Expose
        return seen

    def _pixel(self, colour: str) -> int:
        if colour not in self._pixels:
            r, g, b = (int(colour[i:i + 2], 16) * 257 for i in (1, 3, 5))
            self._pixels[colour] = self.colormap.alloc_color(r, g, b).pixel
        return self._pixels[colour]

    def _xy(self, point: tuple[float, float]) -> tuple[int, int]:
        px, py = self.monitor.pixel(*point)
        return px - self.monitor.left, py - self.monitor.top

    def _set_shape(self, shapes: list[Shape]) -> None:
        X = self.X
        self.mask_gc.change(foreground=0)
        self.mask.fill_rectangle(self.mask_gc, 0, 0, self.monitor.width, self.monitor.height)
        self.mask_gc.change(foreground=1)
        self._paint(self.mask, self.mask_gc, shapes, lambda colour: 1, 1)
        self.window.shape_mask(self.shape.SO.Set, self.shape.SK.Bounding, 0, 0, self.mask)
        # Stay on top of windows mapped after us.
        self.window.configure(stack_mode=X.Above)

    def draw(self, shapes: list[Shape]) -> None:
        self._set_shape(shapes)
        self._paint(self.window, self.gc, shapes, self._pixel, self.white)
        self.display.flush()

    def _paint(self, drawable: Any, gc: Any, shapes: list[Shape], pixel: Callable[[str], int], ink: int) -> None:
        X = self.X
        for item in shapes:
            if isinstance(item, Line):
                gc.change(foreground=pixel(item.colour), line_width=item.width, cap_style=X.CapRound,
                          join_style=X.JoinRound)
                drawable.poly_line(gc, X.CoordModeOrigin, [self._xy(p) for p in item.points])
            elif isinstance(item, Dot):
                x, y = self._xy(item.at)
                gc.change(foreground=pixel(item.colour))
                drawable.fill_arc(gc, x - DOT_RADIUS, y - DOT_RADIUS, 2 * DOT_RADIUS, 2 * DOT_RADIUS, 0, 360 * 64)
                self._tag(drawable, gc, item.name, (x + DOT_RADIUS + 4, y + DOT_RADIUS), pixel(item.colour), ink)
            elif isinstance(item, Text):
                self._tag(drawable, gc, item.text, self._xy(item.at), pixel(item.colour), ink)

    def _tag(self, drawable: Any, gc: Any, text: str, at: tuple[int, int], fill: int, ink: int) -> None:
        """Text on a filled box in the author's colour, so it reads on any background."""
        text = _printable(text)
        if not text or self.font is None:
            return
        width = self.char_width * len(text) + 8
        x, y = at
        gc.change(foreground=fill)
        drawable.fill_rectangle(gc, x, y - 18, width, 24)
        gc.change(foreground=ink)
        drawable.poly_text(gc, x + 4, y, [text])

    def close(self) -> None:
        self.window.destroy()
        self.display.close()
