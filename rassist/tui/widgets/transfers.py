"""The transfers pane: a row and a progress bar per offer (one file, or a directory with the
file in flight named), accept/decline for incoming offers, a button to send.

Fed by the transfer feature's events, keyed by offer id: file-offer / file-offered, file-accepted,
file-declined, file-progress (bytes/size of the file, total_bytes/total_size of the offer),
file-done (per file), transfer-done (the offer), and error events carrying an id. Answers go up
as messages the app turns into {"accept": id} / {"decline": id}. Every field is optional."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, ProgressBar, Static

from rassist.tui.text import size

DONE_KEYS = ("total_bytes", "bytes")   # the offer's bytes so far if given, else the file's
TOTAL_KEYS = ("total_size", "size")


def _first_int(fields: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


MAX_FILE_BARS = 8  # per offer: the files in flight and the last few finished


class FileBar(Vertical):
    """One file inside a directory offer: its path and its own progress bar."""

    DEFAULT_CSS = """
    FileBar { height: auto; padding-left: 2; }
    FileBar > Static { height: 1; color: $text-muted; }
    FileBar > ProgressBar { height: 1; }
    FileBar Bar { width: 1fr; }
    """

    def __init__(self, path: str, total: int | None) -> None:
        super().__init__()
        self.path = path
        self.total = total
        self.done = 0
        self.finished = False

    def compose(self) -> ComposeResult:
        yield Static(self._label())
        yield ProgressBar(total=self.total, show_eta=False, show_percentage=True)

    def on_mount(self) -> None:
        self.call_after_refresh(self._show)

    def _label(self) -> str:
        return f"{escape(self.path)} [dim]{size(self.total)}[/]"

    def _show(self) -> None:
        if not self.is_mounted:
            return
        for label in self.query(Static):
            label.update(self._label())
        for bar in self.query(ProgressBar):
            bar.update(total=self.total, progress=self.done)

    def set(self, done: int | None, total: int | None, finished: bool = False) -> None:
        if total is not None:
            self.total = total
        if done is not None:
            self.done = done
        self.finished = self.finished or finished
        self._show()


class TransferRow(Vertical):
    """One offer (a file, or a directory with a bar per file in it). Keeps its own figures, so
    events may arrive before its widgets are mounted."""

    DEFAULT_CSS = """
    TransferRow { height: auto; padding: 0 1; margin-bottom: 1; }
    TransferRow > .title { height: auto; }
    TransferRow > ProgressBar { height: 1; }
    TransferRow Bar { width: 1fr; }
    TransferRow > Horizontal { height: 1; }
    TransferRow Button { min-width: 10; height: 1; border: none; margin-right: 1; }
    """

    def __init__(self, tid: str, name: str, total: int | None, offer_from: str | None) -> None:
        super().__init__()
        self.tid = tid
        self.file_name = name
        self.total = total
        self.done = 0
        self.asking = offer_from is not None
        self.status = f"offered by {offer_from}" if offer_from else "starting"
        self.files: dict[str, FileBar] = {}  # path inside a directory offer -> its bar

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="title")
        yield ProgressBar(total=self.total, show_eta=False, show_percentage=True)
        if self.asking:
            with Horizontal(classes="answer"):
                yield Button("Accept", variant="success", classes="accept")
                yield Button("Decline", variant="error", classes="decline")

    def on_mount(self) -> None:
        self.call_after_refresh(self._show)  # the bar resets its figures when it mounts

    def _title(self) -> str:
        return f"[b]{escape(self.file_name)}[/] [dim]{size(self.total)} · {escape(self.status)}[/]"

    def _show(self) -> None:
        if not self.is_mounted:
            return
        for title in self.query(".title").results(Static):
            title.update(self._title())
        for bar in self.query(ProgressBar):
            bar.update(total=self.total, progress=self.done)
        if not self.asking:
            for answer in self.query(".answer"):
                answer.remove()

    def update_figures(self, status: str | None = None, done: int | None = None, total: int | None = None,
                       asking: bool | None = None) -> None:
        if status is not None:
            self.status = status
        if total is not None:
            self.total = total
        if done is not None:
            self.done = done
        if asking is not None:
            self.asking = asking
        self._show()

    def file_progress(self, path: str, done: int | None, total: int | None, finished: bool = False) -> None:
        """The bar of one file inside this offer (made on its first event)."""
        bar = self.files.get(path)
        if bar is None:
            if finished and total is not None and total < (1 << 20):
                return  # small files never had a bar: their file-done is enough
            bar = self.files[path] = FileBar(path, total)
            self.mount(bar)
            old = [p for p, b in self.files.items() if b.finished]
            while len(self.files) > MAX_FILE_BARS and old:
                self.files.pop(old.pop(0)).remove()
        bar.set(done, total, finished)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(TransfersPane.Answer(self.tid, event.button.has_class("accept")))


class TransfersPane(Vertical):
    DEFAULT_CSS = """
    TransfersPane { height: 1fr; }
    TransfersPane > #transfers-note { height: auto; padding: 0 1; color: $text-muted; }
    TransfersPane > #send-file { width: 100%; margin: 0 1; }
    TransfersPane > VerticalScroll { height: 1fr; }
    """

    class Answer(Message):
        def __init__(self, tid: str, accept: bool) -> None:
            super().__init__()
            self.tid = tid
            self.accept = accept

    class SendRequest(Message):
        """The user wants to pick a file to send."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, TransferRow] = {}

    def compose(self) -> ComposeResult:
        yield Static("No transfers yet.", id="transfers-note")
        yield Button("Send a file… (F3)", id="send-file")
        yield VerticalScroll(id="transfer-rows")

    def set_note(self, text: str) -> None:
        self.query_one("#transfers-note", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send-file":
            event.stop()
            self.post_message(self.SendRequest())

    def _row(self, fields: dict[str, Any], offer_from: str | None = None) -> TransferRow:
        tid = str(fields.get("id", fields.get("name", "?")))
        row = self.rows.get(tid)
        if row is None:
            row = TransferRow(tid, str(fields.get("name", tid)), _first_int(fields, TOTAL_KEYS), offer_from)
            self.rows[tid] = row
            self.query_one("#transfer-rows", VerticalScroll).mount(row)
            self.set_note(f"{len(self.rows)} transfer(s)")
        return row

    def offer(self, fields: dict[str, Any], peer: str) -> TransferRow:
        """An incoming offer, waiting for an answer."""
        return self._row(fields, offer_from=str(fields.get("peer", peer)))

    def offered(self, fields: dict[str, Any]) -> None:
        """Our own offer went out."""
        self._row(fields).update_figures(status=f"offered to {fields.get('peer', 'the peer')}, waiting")

    def progress(self, fields: dict[str, Any]) -> None:
        row = self._row(fields)
        verb = {"send": "sending", "receive": "receiving"}.get(str(fields.get("direction")), "moving")
        what = f" {fields['path']}" if isinstance(fields.get("path"), str) and fields.get("path") != row.file_name else ""
        speed = f" · {size(fields['rate'])}/s" if isinstance(fields.get("rate"), (int, float)) else ""
        row.update_figures(status=f"{verb}{what}{speed}", done=_first_int(fields, DONE_KEYS),
                           total=_first_int(fields, TOTAL_KEYS), asking=False)
        if what:  # a file inside a directory offer: its own bar as well as the offer's
            row.file_progress(str(fields["path"]), _first_int(fields, ("bytes",)), _first_int(fields, ("size",)))

    def answered(self, tid: str, accept: bool, reason: str | None = None) -> None:
        row = self.rows.get(tid)
        if row is not None:
            status = "accepted" if accept else "declined" + (f": {reason}" if reason else "")
            row.update_figures(status=status, asking=False)

    def file_done(self, fields: dict[str, Any]) -> None:
        """One file of the offer is in place (the offer may hold more)."""
        row = self._row(fields)
        path = fields.get("path")
        if isinstance(path, str) and path != row.file_name:
            total = _first_int(fields, ("size",))
            row.file_progress(path, total, total, finished=True)
        where = fields.get("saved_to") or fields.get("path")
        row.update_figures(status=f"{'received' if fields.get('direction') == 'receive' else 'sent'} {where}",
                           asking=False)

    def transfer_done(self, fields: dict[str, Any]) -> None:
        row = self._row(fields)
        total = _first_int(fields, ("bytes",)) or row.total
        files = fields.get("files")
        took = f" in {fields['seconds']:.1f} s" if isinstance(fields.get("seconds"), (int, float)) else ""
        where = f" → {fields['target']}" if isinstance(fields.get("target"), str) else ""
        count = f"{files} file(s), " if isinstance(files, int) else ""
        row.update_figures(status=f"done: {count}{size(total)}{took}{where}", total=total, done=total,
                           asking=False)

    def failed(self, tid: str, message: str) -> None:
        row = self.rows.get(tid)
        if row is not None:
            row.update_figures(status=f"failed: {message}", asking=False)
