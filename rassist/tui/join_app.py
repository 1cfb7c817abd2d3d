"""The joiner's TUI: the remote screen on the left (and remote control in it), chat, events and
transfers on the right, the status bar and key bindings below."""

from __future__ import annotations

from rich.markup import escape

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer

from rassist.tui.app import Connect, SessionApp, supports
from rassist.tui.widgets.screen_pane import RELEASE_KEY, ScreenPane
from rassist.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from rassist.pairing import JoinOptions
    from rassist.tui.hooks import TuiHooks


class JoinApp(SessionApp):
    TITLE = "rassist join"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "control", "Control"),
        Binding("f5", "annotate", "Point/draw"),
        Binding(RELEASE_KEY, "release", "Release control", priority=True),
    ]

    def __init__(self, code: str, opts: JoinOptions, hooks: TuiHooks | None = None,
                 clock: Callable[[], float] = time.time, connect: Connect | None = None) -> None:
        if connect is None:
            async def connect(emit):  # type: ignore[no-untyped-def]
                from rassist.pairing import join

                return await join(code, opts, emit)
        super().__init__(connect, hooks, clock)
        self.code = code
        self.opts = opts
        self.screen_unavailable: str | None = None  # the host's reason, if it shares no screen
        self._helpers = ""  # the last list of helpers shown

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ScreenPane(id="screen")
            yield from self.compose_side()
        yield StatusBar()
        yield Footer()

    @property
    def screen_pane(self) -> ScreenPane:
        return self.query_one(ScreenPane)

    def mounted(self) -> None:
        self.screen_pane.source = self.hooks
        self.screen_pane.set_note(f"Connecting with code {self.code}…")
        self.status_bar.set(state="connecting")
        self.watch(self.screen_pane, "controlling", self._mode_changed, init=False)

    # ---------------------------------------------------------------- control mode

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In control mode every key belongs to the host except the release key.
        if self.is_mounted and self.query(ScreenPane) and self.screen_pane.controlling:
            return action == "release"
        return action != "release"

    def action_control(self) -> None:
        """F2: take control if granted, else ask the host for it."""
        if self.session is None or self.ended:
            self.notify("Not connected.", severity="warning")
        elif not supports(self.session, "request"):
            self.notify("Remote control is not available in this session.", severity="warning")
        elif self.control == "granted":
            self.screen_pane.focus()
            self.screen_pane.controlling = True
        elif self.control == "requested":
            self.notify("Control requested; waiting for the host to answer.")
        else:
            self.command({"request": "control"})

    def action_annotate(self) -> None:
        """F5: point and draw on the host's screen with the mouse, or stop."""
        pane = self.screen_pane
        if pane.annotating:
            pane.annotating = False
        elif self.session is None or self.ended or "annotate" not in self.session.granted:
            self.notify("The host has not allowed pointing and drawing.", severity="warning")
        else:
            pane.annotating = True
            self.notify("Move the mouse over the screen to point; drag to draw. F5 stops.")

    def on_screen_pane_annotate(self, message: ScreenPane.Annotate) -> None:
        if not self.ended:
            self.command(message.command)

    def event_annotate(self, f: dict[str, Any], at: float) -> None:
        if f.get("state") != "granted":
            self.screen_pane.annotating = False

    def action_release(self) -> None:
        self._leave_control_mode()
        self.query_one("#chat-input").focus()

    def _leave_control_mode(self) -> None:
        self.screen_pane.controlling = False

    def _mode_changed(self, controlling: bool) -> None:
        if not self.ended:
            self.status_bar.set(state="controlling" if controlling else "connected")
        self.refresh_bindings()

    def on_screen_pane_input(self, message: ScreenPane.Input) -> None:
        if self.control == "granted" and not self.ended:
            if self.screen_pane.has_class("-terminal"):  # a shared shell: keys as terminal bytes
                from rassist.terminal.keys import command_bytes

                data = command_bytes(message.command)
                if data:
                    self.command({"term-input": data.decode("utf-8", "replace")})
                return
            self.command(message.command)

    def event_term(self, f: dict[str, Any], at: float) -> None:
        self.screen_pane.show_terminal(int(f.get("cols", 80)), int(f.get("rows", 24)))

    def event_term_size(self, f: dict[str, Any], at: float) -> None:
        self.event_term(f, at)

    # ---------------------------------------------------------------- events

    def event_participants(self, f: dict[str, Any], at: float) -> None:
        """Who else helps (a line in the chat when it changes, once there are several)."""
        entries = [e for e in f.get("participants", []) if isinstance(e, dict)]
        names = ", ".join(str(e.get("name")) + (" (you)" if e.get("id") == f.get("you") else "")
                          + (" (controls)" if e.get("controller") else "") for e in entries)
        if len(entries) > 1 and names != self._helpers:
            self.chat_pane.add_system(at, f"Helpers here: {escape(names)}")
        self._helpers = names

    def event_connected(self, f: dict[str, Any], at: float) -> None:
        super().event_connected(f, at)
        self._update_screen_note()

    def event_waiting(self, f: dict[str, Any], at: float) -> None:
        if f.get("for") == "approval" and self.session is None:  # paired: now the host decides
            self.screen_pane.set_note("Waiting for the host to approve you…")
            self.status_bar.set(state="waiting for approval")

    def _update_screen_note(self) -> None:
        """Why there is no picture (yet); events may come in any order, so decide from all of them."""
        if self.ended:
            note = "The session has ended."
        elif self.screen_unavailable is not None:
            note = f"The host shares no screen: {self.screen_unavailable}"
        elif "view" not in self.granted:
            note = "The host did not grant the view permission: no screen."
        elif self.hooks is None or not supports(self.session, "snapshot"):
            note = "Screen sharing is not available in this session."
        else:
            note = "Waiting for the host's screen…"
        self.screen_pane.set_note(note)

    def event_screen(self, f: dict[str, Any], at: float) -> None:
        if f.get("state") == "receiving":
            self.screen_pane.border_title = f"Remote screen {f.get('width')}x{f.get('height')}"

    def event_error(self, f: dict[str, Any], at: float) -> None:
        super().event_error(f, at)
        if f.get("kind") == "no-display":
            self.screen_unavailable = str(f.get("message", ""))
            if self.session is not None:
                self._update_screen_note()

    def event_control(self, f: dict[str, Any], at: float) -> None:
        super().event_control(f, at)
        self.screen_pane.control_granted = self.control == "granted"
        if self.control == "granted":
            self.notify("Control granted: press F2 to take control, F12 to give the keys back.")
        else:
            self._leave_control_mode()

    def session_over(self) -> None:
        self._leave_control_mode()
        self.screen_pane.control_granted = False
        self._update_screen_note()

    def more_commands(self) -> Iterable[SystemCommand]:
        if self.control == "granted":
            yield SystemCommand("Take control", "Send mouse and keys in the screen pane to the host (F2)",
                                self.action_control)
        else:
            yield SystemCommand("Request control", "Ask the host for control of mouse and keyboard",
                                self.action_control)
