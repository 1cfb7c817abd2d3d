"""What a person sees of file transfers in plain mode: progress bars and sentences."""

from __future__ import annotations

import sys
from typing import Any

from rassist.cli.output import Output, escape
from rassist.protocol.display import visible


def decimal(size: int) -> str:
    """A size in words ("1.2 MB"); rich loads only when a line is printed (a --json join never)."""
    from rich.filesize import decimal as words

    return words(size)

SHOWN_FILES = 20  # human mode lists this many finished files, then only the summary


class TransferView:
    """Human mode: rich progress bars on stderr (overall and current file), finished files,
    a summary. JSON mode: every event as is."""

    def __init__(self, out: Output, verb: str) -> None:
        self.out = out
        self.verb = verb
        self._progress: Any = None
        self._overall: Any = None
        self._file: Any = None
        self._file_path = ""
        self._shown = 0
        self._done = 0
        if not out.json_mode:
            out.renderers.update({
                "code": self._code, "connected": self._connected, "file-offer": lambda f: None,
                "file-offered": self._offered, "file-accepted": lambda f: None,
                "file-lane": self._lane, "file-progress": self._on_progress,
                "file-done": self._on_done, "file-skipped": self._skipped,
                "file-declined": lambda f: None, "transfer-done": self._finished,
                "text": self._text, "waiting": self._waiting,
            })

    def _code(self, f: dict[str, Any]) -> str:
        code = escape(f["code"])
        return (f"Your code: [bold green]{code}[/]\n"
                f"On the other machine run: [bold]rassist receive {code}[/]")

    def _waiting(self, f: dict[str, Any]) -> str | None:
        return {"joiner": "Waiting for the receiver...",
                "approval": "Waiting for the sender...",
                "host": "Waiting for the sender to start (same code)..."}.get(f.get("for", ""))

    def _connected(self, f: dict[str, Any]) -> str:
        route = f.get("route", {})
        where = f" ({escape(route['remote_address'])})" if "remote_address" in route else ""
        return f"[green]Connected[/] to [bold]{escape(f['peer'])}[/]{where}."

    def _offered(self, f: dict[str, Any]) -> str:
        return (f"Offering {escape(f['name'])}: {offer_summary(f)}. "
                "Waiting for the receiver to accept...")

    def _lane(self, f: dict[str, Any]) -> str:
        lane = "direct TLS connection" if f.get("lane") == "tcp" else "WebRTC data channel (slower)"
        return f"[dim]Data goes over the {lane}.[/]"

    def _skipped(self, f: dict[str, Any]) -> str:
        return f"[yellow]Skipped[/] {escape(str(f.get('path')))}: {escape(str(f.get('reason')))}"

    def _text(self, f: dict[str, Any]) -> None:
        sys.stdout.write(visible(f.get("text", ""), multiline=True))
        if not str(f.get("text", "")).endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()

    def _ensure_bars(self) -> None:
        if self._progress is not None:
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=self.out.console,
            transient=True)
        self._progress.start()

    def _on_progress(self, f: dict[str, Any]) -> None:
        self._ensure_bars()
        total, done = f.get("total_size"), f.get("total_bytes")
        if self._overall is None and isinstance(total, int):
            self._overall = self._progress.add_task(f"{self.verb} {f.get('name', '')}"[:40],
                                                    total=total)
        if self._overall is not None and isinstance(done, int):
            self._progress.update(self._overall, completed=done)
        path = str(f.get("path", ""))
        if path != self._file_path:
            if self._file is not None:
                self._progress.remove_task(self._file)
            self._file_path = path
            self._file = self._progress.add_task(("  " + path)[-40:], total=f.get("size"))
        self._progress.update(self._file, completed=f.get("bytes", 0))

    def _on_done(self, f: dict[str, Any]) -> str | None:
        self._done += 1
        if self._shown >= SHOWN_FILES:
            return None
        self._shown += 1
        where = f" → {escape(str(f['saved_to']))}" if f.get("saved_to") else ""
        note = " (already there)" if f.get("moved") == 0 and f.get("size") else ""
        if isinstance(f.get("resumed_from"), int) and 0 < f["resumed_from"] < f.get("size", 0):
            note = f" (resumed at {decimal(f['resumed_from'])})"
        return (f"[green]✓[/] {escape(str(f.get('path')))} {decimal(int(f.get('size', 0)))}{where}"
                f"{note} [dim]sha256 {str(f.get('sha256'))[:16]}…[/]")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _finished(self, f: dict[str, Any]) -> str:
        self.stop()
        if f.get("text"):
            return "Text delivered." if f.get("direction") == "send" else ""
        more = self._done - self._shown
        lines = [f"… and {more} more file(s)"] if more > 0 else []
        seconds = max(float(f.get("seconds", 0)), 1e-9)
        resumed = int(f.get("bytes", 0)) - int(f.get("moved", 0))
        lines.append(
            f"[bold green]Done[/]: {f.get('files')} file(s), {decimal(int(f.get('bytes', 0)))} in "
            f"{seconds:.1f} s ({decimal(int(f.get('moved', 0) / seconds))}/s over "
            f"{'TLS' if f.get('lane') == 'tcp' else 'the data channel'})"
            + (f"; {decimal(resumed)} were already there" if resumed > 0 else "") + ".")
        return "\n".join(lines)


def files_renderers() -> dict[str, Any]:
    """Plain line mode of host/join: one line per offer, finished file and transfer; no bars
    (the chat shares the terminal). Add to Output.renderers."""

    def offer(f: dict[str, Any]) -> str:
        tid = escape(str(f.get("id")))
        if f.get("text"):
            what = f"a text snippet ({decimal(int(f.get('size', 0)))})"
        else:
            what = f"[bold]{escape(str(f.get('name')))}[/] ({offer_summary(f)})"
        return (f"[bold]{escape(str(f.get('peer')))}[/] offers {what}: "
                f"[bold]/accept {tid}[/] or [bold]/decline {tid}[/]")

    def done(f: dict[str, Any]) -> str:
        where = f" → {escape(str(f['saved_to']))}" if f.get("saved_to") else ""
        verb = "Received" if f.get("direction") == "receive" else "Sent"
        return f"{verb} {escape(str(f.get('path')))} ({decimal(int(f.get('size', 0)))}){where}"

    def finished(f: dict[str, Any]) -> str | None:
        if f.get("text"):
            return None
        seconds = max(float(f.get("seconds", 0)), 1e-9)
        return (f"Transfer {escape(str(f.get('id')))} done: {f.get('files')} file(s), "
                f"{decimal(int(f.get('bytes', 0)))}, {decimal(int(f.get('moved', 0) / seconds))}/s.")

    return {
        "file-offer": offer,
        "file-offered": lambda f: (f"Offered {escape(str(f.get('name')))} ({offer_summary(f)}); "
                                   f"waiting for {escape(str(f.get('peer')))} to accept."),
        "file-accepted": lambda f: None,
        "file-declined": lambda f: f"Declined {escape(str(f.get('id')))}.",
        "file-lane": lambda f: None,
        "file-progress": lambda f: None,
        "file-done": done,
        "file-skipped": lambda f: (f"[yellow]Skipped[/] {escape(str(f.get('path')))}: "
                                   f"{escape(str(f.get('reason')))}"),
        "transfer-done": finished,
        "text": lambda f: (f"[bold]{escape(str(f.get('peer')))}[/] sent text:\n"
                           f"{escape(visible(f.get('text', ''), multiline=True))}"),
    }


def offer_summary(f: dict[str, Any]) -> str:
    if f.get("text"):
        return f"a text snippet, {decimal(int(f.get('size', 0)))}"  # not "0 file(s)"
    parts = [f"{f.get('files', 0)} file(s)"]
    if f.get("dirs"):
        parts.append(f"{f['dirs']} folder(s)")
    parts.append(decimal(int(f.get("size", 0))))
    return ", ".join(parts)
