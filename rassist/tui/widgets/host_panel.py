"""The host's left pane: the code to read out, who is connected and what they may do, what is
pending, and the control switch."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from rassist.tui.text import describe_route, permissions


class HostPanel(VerticalScroll):
    DEFAULT_CSS = """
    HostPanel { width: 1fr; min-width: 30; border: round $primary-muted; padding: 0 1; }
    HostPanel > #host-code { height: auto; }
    HostPanel > #host-peer { height: auto; margin-top: 1; }
    HostPanel > #host-pending { height: auto; color: $warning; }
    HostPanel > Button { width: 100%; margin-top: 1; }
    """

    class ToggleControl(Message):
        """Grant control if it is not granted, revoke it if it is."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Session"
        self.info: dict[str, Any] = {"state": "starting"}

    def compose(self) -> ComposeResult:
        yield Static("Starting…", id="host-code")
        yield Static("", id="host-peer")
        yield Static("", id="host-pending")
        yield Button("Grant control (F2)", id="toggle-control")

    def show(self, **info: Any) -> None:
        """Change some facts; None clears one."""
        self.info.update(info)
        if self.is_mounted:
            self._render_info()

    def on_mount(self) -> None:
        self._render_info()

    def _render_info(self) -> None:
        i = self.info
        code = i.get("code")
        if i.get("peer") is None and code:
            head = (f"Your code:\n[bold green]{escape(code)}[/]\n\n"
                    f"On the other machine run:\n[b]rassist join {escape(code)}[/]\n\n"
                    f"[dim]{escape(str(i.get('state', '')))}[/]")
        elif i.get("peer") is None or i.get("state") != "Connected":
            head = f"[dim]{escape(str(i.get('state', '')))}[/]"
        else:
            head = ""
        head_widget = self.query_one("#host-code", Static)
        head_widget.update(head)
        head_widget.display = bool(head)
        peer_lines = []
        if i.get("peer"):
            peer_lines = [f"Connected: [b]{escape(i['peer'])}[/]",
                          f"Allowed: {escape(permissions(i.get('granted')))}"]
            if i.get("route"):
                peer_lines.append(describe_route(i["route"]))
            control = i.get("control", "not granted") if i.get("control_available") else "not available"
            peer_lines.append(f"Control: {escape(str(control))}")
            if i.get("screen"):
                peer_lines.append(f"Screen: {escape(str(i['screen']))}")
        helpers = i.get("helpers")
        if helpers:  # several helpers: who is here, with what (the first's lines above stay)
            peer_lines.append("Helpers:")
            for e in helpers:
                mark = " [b red]controls[/]" if e.get("controller") else ""
                peer_lines.append(f"  {escape(str(e.get('id')))} {escape(str(e.get('name')))}: "
                                  f"{escape(permissions(e.get('permissions')))}{mark}")
                if (link := (i.get("links") or {}).get(e.get("id"))) is not None:
                    peer_lines.append(f"    [dim]{escape(link)}[/]")
        for code in i.get("invitations") or []:
            peer_lines.append(f"Invitation: [b green]{escape(code)}[/]")
        peer_widget = self.query_one("#host-peer", Static)
        peer_widget.update("\n".join(peer_lines))
        peer_widget.display = bool(peer_lines)
        pending = i.get("pending")
        pending_widget = self.query_one("#host-pending", Static)
        pending_widget.update(f"Pending: {escape(pending)}" if pending else "")
        pending_widget.display = bool(pending)
        button = self.query_one("#toggle-control", Button)
        granted = i.get("control") == "granted"
        button.label = "Revoke control (F2)" if granted else "Grant control (F2)"
        button.variant = "error" if granted else "default"
        button.display = bool(i.get("control_available", False))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "toggle-control":
            event.stop()
            self.post_message(self.ToggleControl())
