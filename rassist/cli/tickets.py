"""`rassist tickets ...`: the records every session leaves (list, show, search, export, verify,
note, prune). Results go to stdout (JSON lines with --json), messages to stderr."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from rassist.cli.output import Output
from rassist.errors import RassistError, UsageError

app = typer.Typer(name="tickets", no_args_is_help=True, add_completion=False,
                  help="The record (ticket) every host, join, send and receive leaves: list, show, "
                       "search (also the text that was on screen), export, verify, note, prune. "
                       "Stored in SQLite under RASSIST_DATA_DIR (default ~/.local/share/rassist), "
                       "or in the PostgreSQL database of RASSIST_TICKETS_URL.")
JsonOpt = typer.Option(False, "--json", help="One JSON object per line on stdout.")
TAMPERED = 3  # the exit code of a failed authentication: here, a record that fails verification
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """"90d" -> seconds (s, m, h, d, w)."""
    match = _DURATION.match(text.lower())
    if not match:
        raise UsageError(f"--older-than {text!r}: use a number and a unit, such as 90d, 12h or 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


class _Out:
    """Results on stdout (text or JSON lines), notes and errors on stderr."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.err = Output(json_mode)
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)

    def event(self, name: str, **fields: Any) -> None:
        if self.json_mode:
            print(json.dumps({"event": name, **fields}, ensure_ascii=False), flush=True)

    def text(self, line: str) -> None:
        if not self.json_mode:
            self.console.print(line)


def _guard(json_mode: bool, body: Callable[[_Out], int | None]) -> None:
    out = _Out(json_mode)
    try:
        code = body(out) or 0
    except RassistError as exc:
        out.err.emit("error", kind=exc.kind, message=exc.message)
        code = exc.exit_code
    raise typer.Exit(code)


def _store():  # type: ignore[no-untyped-def]
    from rassist.records.store import open_store

    return open_store()


@app.command("list")
def list_command(limit: int = typer.Option(50, "--limit", "-n", min=1, help="At most this many, newest first."),
                 tag: str | None = typer.Option(None, "--tag", help="Only tickets with this tag."),
                 json_mode: bool = JsonOpt) -> None:
    """The latest tickets, newest first."""
    def body(out: _Out) -> None:
        from rassist.records.render import clock, heading, printable

        store = _store()
        rows = store.records(limit, tag)
        for info in rows:
            out.event("ticket", **info.as_dict())
            tags = f" [{escape(printable(', '.join(info.tags)))}]" if info.tags else ""
            out.text(f"[bold]{info.id}[/]  {clock(info.started)}  {info.command:<7}  "
                     f"{escape(printable(heading(info), 80))}{tags}  [dim]{info.entries} entries, "
                     f"{escape(info.outcome or 'open')}[/]")
        if not rows:
            out.err.say("No tickets yet: every rassist host, join, send and receive leaves one.")
    _guard(json_mode, body)


@app.command()
def show(ticket: str = typer.Argument(..., metavar="ID", help="A ticket id (or its first characters)."),
         json_mode: bool = JsonOpt) -> None:
    """One ticket: who, when, what happened, and whether its chain is intact."""
    def body(out: _Out) -> None:
        from rassist.records.render import clock, describe, heading, offset, printable
        from rassist.records.verify import verify_in_store

        store = _store()
        info = store.get(ticket)
        entries = store.entries(info.id)
        verdict = verify_in_store(store, info)
        out.event("ticket", **info.as_dict(), verify=verdict.as_dict())
        for e in entries:
            out.event("entry", **e)
        out.text(f"[bold]{escape(printable(heading(info)))}[/]  (ticket {info.id})")
        out.text(f"{info.command} as {info.role}, with {escape(printable(info.peer or 'nobody'))}; "
                 f"{clock(info.started)} to {clock(info.ended)}; {escape(info.outcome or 'still open')}")
        if info.tags:
            out.text("tags: " + escape(printable(", ".join(info.tags))))
        out.text(("[green]chain intact[/]" if verdict.ok else f"[red]TAMPERED:[/] {escape(verdict.problem or '')}")
                 + (f"; {len(verdict.confirmed)} head(s) confirmed by the peer's record" if verdict.confirmed else ""))
        for e in entries:
            at = offset((e["ts"] - info.started) / 1000) if isinstance(e.get("ts"), int) else "?"
            out.text(f"[dim]{at}[/] {escape(printable(describe(str(e['kind']), e['data'])))}")
        return 0 if verdict.ok else TAMPERED
    _guard(json_mode, body)


@app.command()
def search(query: list[str] = typer.Argument(..., help="Words to find (all of them); quotes, *, : and "
                                                       "other symbols are searched as text."),
           limit: int = typer.Option(20, "--limit", "-n", min=1, help="At most this many matches."),
           json_mode: bool = JsonOpt) -> None:
    """Find tickets by chat, notes, file names, titles and the text that was on screen (OCR),
    best match first, with the moment in the session."""
    def body(out: _Out) -> None:
        from rassist.records import ocr
        from rassist.records.render import offset, printable

        text = " ".join(query)
        off = ocr.unavailable()
        hits = _store().search(text, limit)
        out.event("search", query=text, count=len(hits), ocr="on" if off is None else f"off: {off}")
        for hit in hits:
            out.event("hit", **hit.as_dict())
            snippet = escape(printable(hit.snippet, 400)).replace("«", "[bold yellow]").replace("»", "[/]")
            out.text(f"[bold]{hit.record}[/] at {offset(hit.at)} ({hit.kind}, {escape(printable(hit.title or '-', 60))}): "
                     f"{snippet}")
        if not hits:
            out.err.say(f"Nothing matches {escape(text)!s}.")
        if off is not None:
            out.err.say(f"[dim]OCR is off ({escape(off)}): text on screen snapshots is not searchable.[/]")
    _guard(json_mode, body)


@app.command()
def export(ticket: str = typer.Argument(..., metavar="ID"),
           fmt: str = typer.Option("md", "--format", "-f", help="md (snapshots as files beside it), "
                                                                "html (one self-contained page) or json."),
           output: Path = typer.Option(..., "--output", "-o", metavar="FILE", help="Where to write it."),
           json_mode: bool = JsonOpt) -> None:
    """Write a ticket to paste into a tracker."""
    def body(out: _Out) -> None:
        from rassist.records import export as ex
        from rassist.records.verify import verify_in_store

        if fmt not in ex.FORMATS:
            raise UsageError(f"--format {fmt!r}: use one of {', '.join(ex.FORMATS)}")
        store = _store()
        info = store.get(ticket)
        entries = store.entries(info.id)
        verdict = verify_in_store(store, info)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "md":
                text = ex.to_markdown(info, entries, verdict, output)
            elif fmt == "html":
                text = ex.to_html(info, entries, verdict)
            else:
                text = ex.to_json(info, entries, verdict)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise RassistError(f"cannot write {output}: {exc.strerror or exc}") from None
        out.event("exported", record=info.id, format=fmt, path=str(output), ok=verdict.ok)
        out.err.say(f"Wrote {escape(str(output))}" + ("" if verdict.ok else " [red](the record FAILS verification)[/]"))
    _guard(json_mode, body)


@app.command()
def verify(ticket: str | None = typer.Argument(None, metavar="[ID]", help="One ticket; default: all."),
           peer: Path | None = typer.Option(None, "--peer", metavar="FILE",
                                            help="The other side's record (its `export --format json`), to "
                                                 "check the chain heads it confirmed."),
           json_mode: bool = JsonOpt) -> None:
    """Check that tickets were not edited, cut, reordered or rewritten; exit 3 if one was."""
    def body(out: _Out) -> int:
        from rassist.records.verify import verify_in_store

        store = _store()
        extra = _peer_file(peer) if peer else []
        infos = [store.get(ticket)] if ticket else store.records(limit=1_000_000)
        bad = 0
        for info in infos:
            verdict = verify_in_store(store, info, extra)
            bad += not verdict.ok
            out.event("verified", **verdict.as_dict())
            if verdict.ok:
                how = f", {len(verdict.confirmed)} head(s) confirmed by the peer" if verdict.confirmed else ""
                out.text(f"[green]ok[/]  {info.id}  {verdict.entries} entries{how}")
            else:
                out.text(f"[red]BAD[/] {info.id}  first bad entry: {verdict.first_bad}: {escape(verdict.problem or '')}")
        out.err.say(f"{len(infos)} ticket(s) checked, {bad} failed.")
        return TAMPERED if bad else 0
    _guard(json_mode, body)


def _peer_file(path: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    try:
        from rassist.protocol.jsonwire import loads  # the peer's export: bounded like all peer JSON

        doc = loads(path.read_text(encoding="utf-8"))
        return [(str(doc["record"]["id"]), [e for e in doc["entries"] if isinstance(e, dict)])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--peer {path}: not a ticket exported with --format json ({exc})") from None


@app.command()
def note(ticket: str = typer.Argument(..., metavar="ID"),
         text: list[str] = typer.Argument(..., help="The note."),
         json_mode: bool = JsonOpt) -> None:
    """Add a note to a ticket (appended and chained like everything else)."""
    def body(out: _Out) -> None:
        from rassist.cli.common import default_name
        from rassist.crypto import chain
        from rassist.records.model import Entry, now_ms, searchable

        store = _store()
        info = store.get(ticket)
        seq, prev = store.last(info.id) or (-1, chain.genesis(info.id))
        data = {"text": " ".join(text)[:4000], "by": default_name(None), "after": "session"}
        ts = now_ms()
        entry = Entry(int(seq) + 1, ts, "note", data, chain.entry_hash(str(prev), int(seq) + 1, ts, "note", data))
        store.append(info.id, [entry], [searchable("note", data)], {})
        out.event("noted", record=info.id, seq=entry.seq)
        out.err.say(f"Noted in ticket {info.id}.")
    _guard(json_mode, body)


@app.command()
def prune(older_than: str = typer.Option(..., "--older-than", metavar="AGE",
                                         help="Delete tickets started longer ago than this: 90d, 12h, 2w."),
          dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would go."),
          json_mode: bool = JsonOpt) -> None:
    """Delete old tickets and their snapshot files."""
    def body(out: _Out) -> None:
        import time

        from rassist.records.store import files_dir

        cutoff = int((time.time() - parse_duration(older_than)) * 1000)
        store = _store()
        if dry_run:
            ids = [i.id for i in store.records(limit=1_000_000) if i.started < cutoff]
        else:
            ids = store.prune(cutoff)
            for rid in ids:
                shutil.rmtree(files_dir(rid), ignore_errors=True)
        out.event("pruned", records=ids, count=len(ids), dry_run=dry_run)
        out.err.say(f"{'Would delete' if dry_run else 'Deleted'} {len(ids)} ticket(s) older than {escape(older_than)}.")
    _guard(json_mode, body)


def register(root: typer.Typer) -> None:
    root.add_typer(app)

