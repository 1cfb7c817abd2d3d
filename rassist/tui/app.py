"""What the host and join apps share: the session's lifecycle, chat, event log, transfers, status
bar, quitting politely, and the command palette.

The app is the session's `emit` target: each event becomes a SessionEvent message, handled in
order on the app's queue by `event_<name>` methods. Everything the app does to the session goes
through Session.chat(), handle_command() and close()."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.markup import escape
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import TabbedContent, TabPane

from rassist.errors import RassistError
from rassist.protocol.display import visible_event
from rassist.tui.dialogs import ConfirmDialog, SendFileDialog
from rassist.tui.messages import SessionEvent
from rassist.tui.text import CLOSED_REASONS, describe, describe_route, permissions, size
from rassist.tui.widgets.chat import ChatPane
from rassist.tui.widgets.eventlog import EventLog
from rassist.tui.widgets.status import StatusBar
from rassist.tui.widgets.transfers import TransfersPane

if TYPE_CHECKING:
    from rassist.session import Session
    from rassist.tui.hooks import TuiHooks

Connect = Callable[["Emit"], Awaitable["Session"]]
T = TypeVar("T")
INTERRUPTED = 130  # as the CLI: left before a session started
TABS = ("tab-chat", "tab-events", "tab-transfers")
QUIET_ERRORS = {"no-display"}  # a pane says these already; a toast would repeat it
TAB_FOCUS = {"tab-chat": "#chat-input", "tab-events": "#events", "tab-transfers": "#send-file"}


def supports(session: Session | None, key: str) -> bool:
    """Whether a feature registered the command `key` (so the feature is wired in)."""
    if session is None:
        return False
    return session.has_command(key)


class SessionApp(App[int]):
    CSS = """
    #main { height: 1fr; }
    #side { width: 1fr; min-width: 30; height: 1fr; }
    #side TabPane { padding: 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f3", "send_file", "Send file"),
        Binding("f4", "next_tab", "Next pane"),
    ]

    def __init__(self, connect: Connect, hooks: TuiHooks | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.connect = connect
        self.hooks = hooks
        self.clock = clock
        self.session: Session | None = None
        self.outcome: int | None = None       # the exit code, once the session is over
        self.final_message: str | None = None  # printed after the TUI closes, if the session failed
        self.ended = False
        self.granted: list[str] = []
        self.control = "not granted"
        self._quitting = False
        self._life: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._offers: dict[str, dict[str, Any]] = {}  # incoming offers still waiting for an answer
        self._offer_dialogs: dict[str, ConfirmDialog] = {}

    # ---------------------------------------------------------------- layout pieces

    def compose_side(self) -> ComposeResult:
        with TabbedContent(id="side", initial="tab-chat"):
            with TabPane("Chat", id="tab-chat"):
                yield ChatPane()
            with TabPane("Events", id="tab-events"):
                yield EventLog(id="events")
            with TabPane("Transfers", id="tab-transfers"):
                yield TransfersPane(id="transfers")

    @property
    def chat_pane(self) -> ChatPane:
        return self.query_one(ChatPane)

    @property
    def event_log(self) -> EventLog:
        return self.query_one("#events", EventLog)

    @property
    def transfers(self) -> TransfersPane:
        return self.query_one("#transfers", TransfersPane)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    # ---------------------------------------------------------------- lifecycle

    def on_mount(self) -> None:
        if self.hooks is not None:
            self.hooks.attach(self)
        self.query_one("#chat-input").focus()
        self.transfers.set_note("Not connected yet.")
        self.mounted()
        # A plain task, not a Textual worker: workers are cancelled before on_unmount, and the
        # session must still be able to say goodbye there.
        self._life = asyncio.ensure_future(self._lifecycle())

    def mounted(self) -> None:
        """For the subclasses (Textual calls every class's on_mount itself: never call super's)."""

    def emit(self, event: str, **fields: Any) -> None:
        """The session's emit: one event in, one message on the app's queue. Fields carry peer
        text (names, chat, file names, reasons): made visible here, before any pane shows it."""
        fields = visible_event(event, fields)
        self.post_message(SessionEvent(event, fields, self.clock()))

    async def _lifecycle(self) -> None:
        reason = "error"
        try:
            self.session = await self.connect(self.emit)
            await self.session.start()
            reason = await self.session.run()
        except RassistError as exc:
            self.emit("error", kind=exc.kind, message=exc.message)
            self.emit("closed", reason=exc.kind)
            self.outcome, self.final_message = exc.exit_code, exc.message
        except Exception as exc:  # noqa: BLE001 - shown, not swallowed: the TUI must not vanish silently
            self.emit("error", kind="error", message=f"unexpected error: {exc!r}")
            self.emit("closed", reason="error")
            self.outcome, self.final_message = 1, f"unexpected error: {exc!r}"
        else:
            self.emit("closed", reason=reason)
            self.outcome = 0
        if self._quitting or reason == "quit":
            self.leave(self.outcome)

    async def on_unmount(self) -> None:
        """The app is going away however it was closed: say goodbye, or stop pairing."""
        life = self._life
        if life is None or life.done():
            return
        if self.session is not None and self.outcome is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.session.close("quit"), 2)
        else:
            life.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(life, 5)

    async def action_quit(self) -> None:
        """Tell the peer, end the session, leave (also what Ctrl-C/SIGTERM do via the hooks)."""
        if self._quitting:
            return
        self._quitting = True
        if self.session is not None and self.outcome is None:
            self.status_bar.set(state="closing")
            await self.session.close("quit")  # the lifecycle sees run() return and exits the app
            return
        self.leave(self.outcome if self.outcome is not None else INTERRUPTED)

    def leave(self, code: int) -> None:
        self.exit(code, return_code=code)

    def request_quit(self) -> None:
        self.call_next(self.action_quit)

    async def ask_control(self, peer: str) -> bool:
        """HostControl's question (the host app asks; nobody else should be asked)."""
        return False

    # ---------------------------------------------------------------- events in

    def on_session_event(self, message: SessionEvent) -> None:
        line = describe(message.name, message.fields)
        if line is not None:
            self.event_log.add(message.at, line)
        handler = getattr(self, "event_" + message.name.replace("-", "_"), None)
        if handler is not None:
            handler(message.fields, message.at)

    def event_connected(self, f: dict[str, Any], at: float) -> None:
        self.granted = [str(p) for p in f.get("granted", [])]
        peer = str(f.get("peer", "peer"))
        self.status_bar.set(state="connected", peer=peer, route=f.get("route"),
                            permissions=permissions(self.granted))
        who = f"{escape(peer)} joined" if f.get("role") == "host" else f"Connected to {escape(peer)}"
        self.chat_pane.add_system(at, f"{who}; allowed: {escape(permissions(self.granted))}")
        self.transfers.set_note(self.transfer_note())

    def transfer_note(self) -> str:
        if not supports(self.session, "send"):
            return "File transfer is not available in this session."
        return "No transfers yet. Offers from the peer appear here."

    def event_chat(self, f: dict[str, Any], at: float) -> None:
        mine = f.get("from") == "me"
        self.chat_pane.add_message(at, "you" if mine else str(f.get("from", "?")), str(f.get("text", "")), mine)
        if not mine and self.query_one(TabbedContent).active != "tab-chat":
            self.notify(f"{f.get('from')}: {str(f.get('text', ''))[:80]}", title="Chat")

    def event_reconnecting(self, f: dict[str, Any], at: float) -> None:
        self.status_bar.set(state=f"reconnecting, {f.get('seconds_left')} s left")

    def event_reconnected(self, f: dict[str, Any], at: float) -> None:
        self.status_bar.set(state="connected", **({"route": f["route"]} if f.get("route") else {}))

    def event_closed(self, f: dict[str, Any], at: float) -> None:
        self.ended = True
        reason = str(f.get("reason", ""))
        self.status_bar.set(state="closed", rtt_ms=None, bitrate_kbps=None, fps=None, loss=None)
        text = f"Session closed: {CLOSED_REASONS.get(reason, reason)}."
        if not self._quitting:
            text += " Press Ctrl+Q to quit."
        self.chat_pane.add_system(at, escape(text))
        self.session_over()

    def session_over(self) -> None:
        """For the subclasses: the session is over."""

    def event_error(self, f: dict[str, Any], at: float) -> None:
        if f.get("kind") not in QUIET_ERRORS:
            self.notify(str(f.get("message", "error")), title=f"Error ({f.get('kind', 'error')})",
                        severity="error", timeout=8)
        if isinstance(f.get("id"), str):
            self._settled(f["id"])
            self.transfers.failed(f["id"], str(f.get("message", "")))

    def event_stats(self, f: dict[str, Any], at: float) -> None:
        route, before = f.get("route"), self.status_bar.fields.get("route")
        if isinstance(route, dict) and isinstance(before, dict) and \
                (route.get("local"), route.get("remote")) != (before.get("local"), before.get("remote")):
            self.event_log.add(at, f"Route changed: {describe_route(route)}")
        figures = {k: f.get(k) for k in ("rtt_ms", "bitrate_kbps", "loss")}
        fps = f.get("fps")
        if fps is None and self.hooks is not None and self.hooks.frames:
            fps = self.hooks.fps()
        self.status_bar.set(**figures, fps=fps, **({"route": f["route"]} if f.get("route") else {}))

    def event_control(self, f: dict[str, Any], at: float) -> None:
        state = str(f.get("state", ""))
        self.control = {"granted": "granted", "requested": "requested"}.get(state, "not granted")
        if "control" in self.granted and state in ("revoked", "declined"):
            self.granted.remove("control")
        elif state == "granted" and "control" not in self.granted:
            self.granted.append("control")
        self.status_bar.set(permissions=permissions(self.granted))
        extra = f" ({escape(str(f['reason']))})" if isinstance(f.get("reason"), str) else ""
        self.chat_pane.add_system(at, f"Control {escape(state)}{extra}")

    def event_file_offer(self, f: dict[str, Any], at: float) -> None:
        tid = str(f.get("id", f.get("name", "?")))
        self._offers[tid] = f
        peer = str(f.get("peer", self.status_bar.fields.get("peer", "the peer")))
        self.transfers.offer(f, peer)
        name = str(f.get("name", tid))
        self.chat_pane.add_system(at, f"{escape(peer)} offers {escape(name)} ({size(f.get('size'))})")
        question = f"{escape(peer)} offers [b]{escape(name)}[/] ({size(f.get('size'))}). Accept it?"
        dialog = ConfirmDialog("File offered", question, "Accept", "Decline")
        self._offer_dialogs[tid] = dialog
        # None: the dialog was taken away because the offer was settled some other way.
        self.push_screen(dialog, callback=lambda yes: yes is None or self.answer_offer(tid, yes))

    def _settled(self, tid: str) -> None:
        """An offer is answered, withdrawn or over: no more questions about it."""
        self._offers.pop(tid, None)
        dialog = self._offer_dialogs.pop(tid, None)
        if dialog is not None and self.screen is dialog:
            dialog.dismiss(None)

    def event_file_offered(self, f: dict[str, Any], at: float) -> None:
        self.transfers.offered(f)

    def event_file_accepted(self, f: dict[str, Any], at: float) -> None:
        self._settled(str(f.get("id")))
        self.transfers.answered(str(f.get("id")), True)

    def event_file_declined(self, f: dict[str, Any], at: float) -> None:
        self._settled(str(f.get("id")))
        reason = f.get("reason")
        self.transfers.answered(str(f.get("id")), False, reason if isinstance(reason, str) else None)

    def event_file_progress(self, f: dict[str, Any], at: float) -> None:
        self.transfers.progress(f)

    def event_file_done(self, f: dict[str, Any], at: float) -> None:
        self.transfers.file_done(f)
        if f.get("direction") == "receive":
            where = f" → {f['saved_to']}" if isinstance(f.get("saved_to"), str) else ""
            self.chat_pane.add_system(at, escape(f"File received: {f.get('path', '?')}{where}"))

    def event_transfer_done(self, f: dict[str, Any], at: float) -> None:
        self._settled(str(f.get("id")))
        self.transfers.transfer_done(f)
        if f.get("direction") == "send" and not f.get("text"):
            row = self.transfers.rows.get(str(f.get("id")))
            self.chat_pane.add_system(at, escape(f"Sent: {row.file_name if row else f.get('id')}"))

    def event_text(self, f: dict[str, Any], at: float) -> None:
        self.chat_pane.add_system(at, escape(f"{f.get('peer', 'The peer')} sent text: {f.get('text', '')}"))

    # ---------------------------------------------------------------- messages from the panes

    def on_chat_pane_send(self, message: ChatPane.Send) -> None:
        if self.session is None or self.ended:
            self.notify("Not connected: nothing was sent.", severity="warning")
            return
        if message.text.startswith("/note ") and self.session.has_command("note"):
            self.command({"note": message.text[6:]})  # into the ticket, never to the peer
            return
        self.session.chat(message.text)

    def on_transfers_pane_answer(self, message: TransfersPane.Answer) -> None:
        self.answer_offer(message.tid, message.accept)

    def on_transfers_pane_send_request(self, message: TransfersPane.SendRequest) -> None:
        self.action_send_file()

    def answer_offer(self, tid: str, accept: bool) -> None:
        if tid not in self._offers:
            return  # answered already (a button, the dialog, the palette), or withdrawn
        if self.session is None or self.ended:
            self.notify("Not connected: the offer cannot be answered.", severity="warning")
            return
        self._settled(tid)
        self.command({"accept": tid} if accept else {"decline": tid})

    # ---------------------------------------------------------------- commands out

    def command(self, cmd: dict[str, Any]) -> None:
        """Send a command to the session; refusals come back as error events."""
        if self.session is None or self.ended:
            self.notify("Not connected.", severity="warning")
            return
        task = asyncio.ensure_future(self.session.handle_command(cmd))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def ask(self, screen: ModalScreen[T]) -> T | None:
        """Show a modal and wait for its answer (None if whoever asked gives up first)."""
        answer: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()

        def done(result: T | None) -> None:
            if not answer.done():
                answer.set_result(result)

        self.push_screen(screen, callback=done)
        try:
            return await answer
        except asyncio.CancelledError:
            if self.screen is screen:
                with contextlib.suppress(Exception):
                    screen.dismiss(None)
            raise

    def action_send_file(self) -> None:
        if self.session is None or self.ended:
            self.notify("Not connected.", severity="warning")
            return
        if not supports(self.session, "send"):
            self.notify("File transfer is not available in this session.", severity="warning")
            return

        def chosen(path: str | None) -> None:
            if path:
                self.command({"send": path})
                self.action_show_tab("tab-transfers")

        self.push_screen(SendFileDialog(), callback=chosen)

    def action_next_tab(self) -> None:
        active = self.query_one(TabbedContent).active
        self.action_show_tab(TABS[(TABS.index(active) + 1) % len(TABS)] if active in TABS else TABS[0])

    def action_show_tab(self, tab: str) -> None:
        # Focus moves into the pane too: TabbedContent switches back to whichever pane holds the focus.
        self.query_one(TabbedContent).active = tab
        self.query_one(TAB_FOCUS[tab]).focus()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Quit", "End the session (the peer is told) and leave", self.action_quit)
        yield SystemCommand("Send a file", "Pick a file or directory to send to the peer", self.action_send_file)
        for tab, title in zip(TABS, ("Chat", "Event log", "Transfers")):
            yield SystemCommand(f"Show {title.lower()}", f"Switch the side pane to {title}",
                                lambda tab=tab: self.action_show_tab(tab))
        for tid, offer in list(self._offers.items()):
            name = str(offer.get("name", tid))
            yield SystemCommand(f"Accept {name}", "Accept the offered file", lambda t=tid: self.answer_offer(t, True))
            yield SystemCommand(f"Decline {name}", "Decline the offered file",
                                lambda t=tid: self.answer_offer(t, False))
        yield from self.more_commands()
        yield from super().get_system_commands(screen)

    def more_commands(self) -> Iterable[SystemCommand]:
        return ()
