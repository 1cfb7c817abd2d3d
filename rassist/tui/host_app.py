"""The host's TUI: the code and who is connected on the left, with the approval dialog and the
control switch; chat, events and transfers on the right."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Static

from rassist.protocol.display import visible
from rassist.tui.app import Connect, SessionApp, supports
from rassist.tui.dialogs import ApproveDialog, ConfirmDialog
from rassist.tui.text import link_summary, permissions
from rassist.tui.widgets.host_panel import HostPanel
from rassist.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from rassist.pairing import HostOptions
    from rassist.protocol.pairing import PeerHello
    from rassist.tui.hooks import TuiHooks


class HostApp(SessionApp):
    TITLE = "rassist host"
    # Loud on purpose, as in plain mode: someone else is driving this machine.
    CSS = SessionApp.CSS + """
    #control-banner { dock: top; height: 1; width: 100%; background: red; color: white;
                      text-style: bold; content-align: center middle; display: none; }
    #control-banner.-on { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f2", "toggle_control", "Control", tooltip="Grant or revoke control"),
                                             Binding("f6", "clear_marks", "Clear marks"),
                                             # Off the footer (room is short); in the palette and the panel.
                                             Binding("f7", "invite", "Invite", show=False)]

    def __init__(self, opts: HostOptions, hooks: TuiHooks | None = None, auto: bool = False,
                 allowed: set[str] | None = None, clock: Callable[[], float] = time.time,
                 connect: Connect | None = None) -> None:
        if connect is None:
            async def connect(emit):  # type: ignore[no-untyped-def]
                from rassist.pairing import Host

                return await Host(opts, emit, self.approve).run()
        super().__init__(connect, hooks, clock)
        self.opts = opts
        self.auto = auto
        self.allowed = (allowed or set()) | {"view"}
        self._asking_control = False
        self.screen_state: str | None = None
        self.invitations: dict[str, float] = {}  # open invitation codes -> seconds they were valid for
        self.helpers: list[dict[str, Any]] = []  # the last participants event
        self.controller_name: str | None = None  # with several helpers: who holds control
        self.links: dict[str, str] = {}  # participant id -> its link in a few words (stats events)

    def compose(self) -> ComposeResult:
        yield Static("", id="control-banner", markup=False)
        with Horizontal(id="main"):
            yield HostPanel(id="host-panel")
            yield from self.compose_side()
        yield StatusBar()
        yield Footer()

    @property
    def panel(self) -> HostPanel:
        return self.query_one(HostPanel)

    def mounted(self) -> None:
        self.status_bar.set(state="starting")
        from rassist.features import no_display

        if (reason := no_display(self.opts.features)) is not None:  # say it now, before anyone joins
            self.emit("screen", state="unavailable", message=reason)

    # ---------------------------------------------------------------- approval (pairing's Approver)

    async def approve(self, hello: PeerHello) -> tuple[str, ...] | None:
        if self.auto:
            return tuple(p for p in hello.wants if p in self.allowed)
        name = visible(hello.name)
        self.panel.show(pending=f"{name} asks for {permissions(list(hello.wants))}")
        try:
            return await self.ask(ApproveDialog(name, tuple(hello.wants)))
        finally:
            self.panel.show(pending=None)

    async def ask_control(self, peer: str) -> bool:
        """HostControl's `ask` (through TuiHooks): a later request for control."""
        self._asking_control = True
        peer = visible(peer)
        self.panel.show(pending=f"{peer} asks for control")
        try:
            return bool(await self.ask(ConfirmDialog(
                "Control requested", f"[b]{escape(peer)}[/] asks to use your mouse and keyboard. Allow?",
                "Grant", "Deny")))
        finally:
            self._asking_control = False
            self.panel.show(pending=None)

    # ---------------------------------------------------------------- several helpers

    def action_invite(self) -> None:
        """F7: a one-time code for one more helper."""
        if self.session is None or self.ended or not self.session.has_command("invite"):
            self.notify("Invitations work once the first helper is connected.", severity="warning")
        else:
            self.command({"invite": True})

    def event_invite(self, f: dict[str, Any], at: float) -> None:
        self.invitations[str(f.get("code"))] = float(f.get("expires_in") or 0)
        self.panel.show(invitations=sorted(self.invitations))
        self.chat_pane.add_system(at, f"Invitation {escape(str(f.get('code')))}: they run "
                                      f"rassist join {escape(str(f.get('code')))}")

    def event_invite_closed(self, f: dict[str, Any], at: float) -> None:
        self.invitations.pop(str(f.get("code")), None)
        self.panel.show(invitations=sorted(self.invitations))

    def event_joined(self, f: dict[str, Any], at: float) -> None:
        self.chat_pane.add_system(at, f"{escape(str(f.get('peer')))} joined; allowed: "
                                      f"{escape(permissions(list(f.get('granted', []))))}")

    def event_left(self, f: dict[str, Any], at: float) -> None:
        if self.links.pop(str(f.get("participant")), None) is not None:
            self.panel.show(links=dict(self.links))
        self.chat_pane.add_system(at, f"{escape(str(f.get('peer')))} left ({escape(str(f.get('reason')))})")

    def event_participants(self, f: dict[str, Any], at: float) -> None:
        self.helpers = [e for e in f.get("participants", []) if isinstance(e, dict)]
        self.panel.show(helpers=self.helpers if len(self.helpers) > 1 else None)
        if len(self.helpers) > 1:  # the banner follows whoever holds control
            holder = next((e for e in self.helpers if e.get("controller")), None)
            self.control = "granted" if holder is not None else "not granted"
            self.controller_name = str(holder.get("name")) if holder is not None else None
            self._banner()

    def event_stats(self, f: dict[str, Any], at: float) -> None:
        """Each helper's link goes in the Session pane; the status bar follows the first helper
        (with one helper, that is all there is)."""
        pid = f.get("participant")
        if isinstance(pid, str):
            self.links[pid] = link_summary(f)
            self.panel.show(links=dict(self.links))
        first = str(self.helpers[0].get("id")) if self.helpers else None
        if not isinstance(pid, str) or first is None or pid == first:
            super().event_stats(f, at)

    # ---------------------------------------------------------------- control

    def action_clear_marks(self) -> None:
        """F6: every helper's marks off this screen."""
        if self.session is None or self.ended or not supports(self.session, "clear"):
            self.notify("There are no marks to clear.", severity="warning")
        else:
            self.command({"clear": True})

    def action_toggle_control(self) -> None:
        several = len(self.helpers) > 1
        controller = next((str(e.get("id")) for e in self.helpers if e.get("controller")), None)
        if self.session is None or self.ended:
            self.notify("Nobody is connected.", severity="warning")
        elif not (self.session is not None and self.session.has_permission("control")):
            self.notify("Remote control is not available in this session.", severity="warning")
        elif several and controller is not None:  # F2 takes control back from whoever has it
            self.command({"revoke": "control", "to": controller})
        elif several:
            self.notify("Several helpers: control goes to one who asks for it.", severity="warning")
        elif self.control == "granted":
            self.command({"revoke": "control"})
        else:
            self.command({"grant": "control"})

    def on_host_panel_toggle_control(self, message: HostPanel.ToggleControl) -> None:
        self.action_toggle_control()

    # ---------------------------------------------------------------- events

    def event_code(self, f: dict[str, Any], at: float) -> None:
        self.panel.show(code=f.get("code"), peer=None, state="Waiting for someone to join…")
        self.status_bar.set(state="waiting", peer=None)

    def event_request(self, f: dict[str, Any], at: float) -> None:
        self.panel.show(state=f"{f.get('peer')} is pairing…")

    def event_connected(self, f: dict[str, Any], at: float) -> None:
        super().event_connected(f, at)
        self.control = "granted" if "control" in self.granted else "not granted"
        self.panel.show(peer=f.get("peer"), granted=self.granted, route=f.get("route"), state="Connected",
                        control=self.control, control_available=(self.session is not None and self.session.has_permission("control")),
                        screen=self.screen_state or ("not shared" if "view" in self.granted
                                                     else "not shared (view not granted)"))
        self._banner()

    def event_control(self, f: dict[str, Any], at: float) -> None:
        super().event_control(f, at)
        self.panel.show(control=self.control, granted=self.granted)
        self._banner()

    def _banner(self) -> None:
        """White on red across the top while the joiner has control; gone when it does not."""
        banner = self.query_one("#control-banner", Static)
        on = self.control == "granted" and not self.ended
        peer = self.controller_name or str(self.status_bar.fields.get("peer") or "the helper")  # made visible by emit()
        banner.update(f"{peer} HAS CONTROL of your mouse and keyboard · F2 takes it back" if on else "")
        banner.set_class(on, "-on")

    def event_control_request(self, f: dict[str, Any], at: float) -> None:
        if self._asking_control:
            return  # HostControl is already asking through the hooks
        peer = str(f.get("peer", "the joiner"))
        self.panel.show(pending=f"{peer} asks for control")

        def answered(grant: bool | None) -> None:
            self.panel.show(pending=None)
            if grant:
                to = {"to": f["participant"]} if isinstance(f.get("participant"), str) else {}
                self.command({"grant": "control", **to})
            else:
                # Without the hooks HostControl has no refusal command: the joiner keeps waiting.
                self.event_log.add(self.clock(), f"Control not granted to {escape(peer)}")

        self.push_screen(ConfirmDialog("Control requested",
                                       f"[b]{escape(peer)}[/] asks to use your mouse and keyboard. Allow?",
                                       "Grant", "Deny"), callback=answered)

    # Screen events may come before "connected" (features start first): remember, then show.
    def event_screen(self, f: dict[str, Any], at: float) -> None:
        if f.get("state") == "sharing":
            self.screen_state = f"shared (monitor {f.get('monitor')}, {f.get('width')}x{f.get('height')})"
            self.panel.show(screen=self.screen_state)
        elif f.get("state") == "unavailable":
            self.screen_state = f"not shared: {f.get('message', '')}"
            self.panel.show(screen=self.screen_state)

    def event_error(self, f: dict[str, Any], at: float) -> None:
        super().event_error(f, at)
        if f.get("kind") == "no-display":
            self.screen_state = f"not shared: {f.get('message', '')}"
            self.panel.show(screen=self.screen_state)

    def session_over(self) -> None:
        self.panel.show(state="Session over. Press Ctrl+Q to quit.", control="not granted",
                        control_available=False)
        self.control = "not granted"
        self._banner()

    def more_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Invite another helper", "A one-time code for one more helper (F7)", self.action_invite)
        if self.control == "granted":
            yield SystemCommand("Revoke control", "Take mouse and keyboard back now (F2)", self.action_toggle_control)
        else:
            yield SystemCommand("Grant control", "Let the joiner use mouse and keyboard (F2)",
                                self.action_toggle_control)
