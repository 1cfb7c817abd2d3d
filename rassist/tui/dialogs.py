"""Modal questions: approve a joiner, yes/no (control request, file offer), pick a file to send."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Checkbox, Input, Label, Static

from rassist.tui.paths import check_sendable, complete, matches

# Keys typed just before a question appeared were meant for something else (a chat line): for
# this long after it shows, a question cannot be answered yes. No stays immediate.
ARM_SECONDS = 0.75


class Armed:
    """A modal whose yes only counts once the question has been on screen for ARM_SECONDS."""

    def on_mount(self) -> None:
        self.shown_at = time.monotonic()

    def armed(self) -> bool:
        ready = time.monotonic() - getattr(self, "shown_at", time.monotonic()) >= ARM_SECONDS
        if not ready:
            self.app.bell()  # type: ignore[attr-defined]
        return ready


WHAT = {"view": "see your screen", "control": "use your mouse and keyboard", "files": "send and receive files"}

DIALOG_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > Vertical {{ width: 64; max-width: 95%; height: auto; max-height: 90%; border: thick $primary;
                     background: $surface; padding: 0 1; }}
{name} .question {{ margin: 1 0; width: 100%; }}
{name} Horizontal {{ height: auto; align-horizontal: center; margin-top: 1; }}
{name} Button {{ margin: 0 1; }}
"""


class ApproveDialog(Armed, ModalScreen[tuple[str, ...] | None]):
    """A joiner asks to connect: tick what they may do, then approve or deny."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ApproveDialog") + """
    ApproveDialog Checkbox { width: 100%; height: 1; border: none; padding: 0 1; }
    ApproveDialog Checkbox:focus { border: none; background: $boost; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "approve", "Approve"), Binding("n,escape", "deny", "Deny")]

    def __init__(self, peer: str, wants: tuple[str, ...]) -> None:
        super().__init__()
        self.peer = peer
        self.wants = wants

    def compose(self) -> ComposeResult:
        with Vertical(id="approve-box") as box:
            box.border_title = "Someone wants to join"
            asks = "these permissions" if self.wants else "to chat (no screen, control or files)"
            yield Label(f"[b]{escape(self.peer)}[/] asks for {asks}:", classes="question")
            for perm in self.wants:
                yield Checkbox(f"{perm}: {WHAT.get(perm, perm)}", value=True, id=f"perm-{perm}")
            with Horizontal():
                yield Button("Approve (y)", variant="success", id="approve")
                yield Button("Deny (n)", variant="error", id="deny")

    def chosen(self) -> tuple[str, ...]:
        return tuple(p for p in self.wants if self.query_one(f"#perm-{p}", Checkbox).value)

    @on(Button.Pressed, "#approve")
    def action_approve(self) -> None:
        if self.armed():
            self.dismiss(self.chosen())

    @on(Button.Pressed, "#deny")
    def action_deny(self) -> None:
        self.dismiss(None)


class ConfirmDialog(Armed, ModalScreen[bool]):
    """A yes/no question: y/Enter on the first button, n/Escape for no."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "yes", "Yes"), Binding("n,escape", "no", "No")]

    def __init__(self, title: str, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Label(self.question, classes="question")
            with Horizontal():
                yield Button(f"{self.yes_label} (y)", variant="success", id="yes")
                yield Button(f"{self.no_label} (n)", variant="error", id="no")

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        if self.armed():
            self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class PathSuggester(Suggester):
    """Grey inline completion; the file system changes, so nothing is cached."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        options = matches(value) if value else []
        return options[0] if options and options[0] != value else None


class SendFileDialog(ModalScreen[str | None]):
    """Type a path (Tab completes, like a shell); Enter sends it, Escape cancels."""

    DEFAULT_CSS = DIALOG_CSS.format(name="SendFileDialog") + """
    SendFileDialog > Vertical { width: 90; }
    SendFileDialog #path-matches { height: auto; max-height: 8; color: $text-muted; }
    SendFileDialog #path-error { height: auto; color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"), Binding("tab", "complete", "Complete", priority=True)]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Send a file"
            yield Label("Path of the file or directory to send (Tab completes):", classes="question")
            yield Input(placeholder="~/report.pdf", id="path", suggester=PathSuggester())
            yield Static("", id="path-matches")
            yield Static("", id="path-error")
            with Horizontal():
                yield Button("Send", variant="primary", id="send")
                yield Button("Cancel", id="cancel")

    def action_complete(self) -> None:
        field = self.query_one("#path", Input)
        completed = complete(field.value)
        if completed is not None:
            field.value = completed
            field.cursor_position = len(completed)
        options = matches(field.value)
        shown = [o.rstrip("/").rsplit("/", 1)[-1] + ("/" if o.endswith("/") else "") for o in options[:12]]
        more = f"  … {len(options) - 12} more" if len(options) > 12 else ""
        self.query_one("#path-matches", Static).update(escape("  ".join(shown) + more) if len(options) > 1 else "")

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#send")
    def send(self) -> None:
        typed = self.query_one("#path", Input).value
        try:
            path = check_sendable(typed)
        except ValueError as exc:
            self.query_one("#path-error", Static).update(escape(str(exc)))
            return
        self.dismiss(str(path))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
