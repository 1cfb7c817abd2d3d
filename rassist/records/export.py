"""A record as a ticket: Markdown (snapshots as files beside it), one self-contained HTML page,
or JSON (everything, re-verifiable with `rassist tickets verify --peer`)."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

from rassist.records.model import RecordInfo
from rassist.records.render import clock, describe, heading, offset, printable
from rassist.records.store import files_dir
from rassist.records.verify import Verdict

FORMATS = ("md", "html", "json")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|<>~])")  # what can start markup inside a line or cell


def md_escape(text: str) -> str:
    """Peer text as literal Markdown: no links, no HTML, no emphasis, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(printable(text).split()))


def _files(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in entries if e["kind"] == "file-done" and isinstance(e["data"], dict)]


def _snapshots(info: RecordInfo, entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Path]]:
    found = []
    for e in entries:
        d = e["data"]
        if e["kind"] == "snapshot" and isinstance(d, dict) and isinstance(d.get("file"), str):
            path = files_dir(info.id) / Path(d["file"]).name  # never a path from the entry itself
            if path.is_file():
                found.append((d, path))
    return found


def _facts(info: RecordInfo, verdict: Verdict) -> list[tuple[str, str]]:
    return [("Ticket", info.id), ("Command", f"{info.command} ({info.role})"), ("Peer", info.peer or "-"),
            ("Started", clock(info.started)), ("Ended", clock(info.ended)), ("Outcome", info.outcome or "-"),
            ("Tags", ", ".join(info.tags) or "-"), ("Entries", str(verdict.entries)),
            ("Integrity", "chain verified" + (f"; {len(verdict.confirmed)} head(s) confirmed by the peer"
                                                if verdict.confirmed else "")
             if verdict.ok else f"FAILED: {verdict.problem}")]


def to_json(info: RecordInfo, entries: list[dict[str, Any]], verdict: Verdict) -> str:
    return json.dumps({"record": info.as_dict(), "verify": verdict.as_dict(), "entries": entries},
                      ensure_ascii=False, indent=1)


def to_markdown(info: RecordInfo, entries: list[dict[str, Any]], verdict: Verdict, out: Path) -> str:
    """Markdown text; snapshot PNGs are copied into OUT-files/ and linked."""
    lines = [f"# {md_escape(heading(info))}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {md_escape(v)} |" for k, v in _facts(info, verdict)]
    files = _files(entries)
    if files:
        lines += ["", "## Files", "", "| direction | path | size | SHA-256 |", "|---|---|---|---|"]
        lines += [f"| {md_escape(str(f.get('direction')))} | {md_escape(str(f.get('path')))} | "
                  f"{f.get('size')} | `{md_escape(str(f.get('sha256')))}` |" for f in files]
    snaps = _snapshots(info, entries)
    if snaps:
        folder = out.with_name(out.stem + "-files")
        folder.mkdir(parents=True, exist_ok=True)
        lines += ["", "## Snapshots", ""]
        for data, path in snaps:
            shutil.copyfile(path, folder / path.name)
            lines.append(f"![{md_escape(path.name)}]({folder.name}/{path.name})")
    lines += ["", "## Timeline", ""]
    for e in entries:
        if e["kind"] in ("peer-head", "link"):
            continue
        at = offset((e["ts"] - info.started) / 1000) if isinstance(e.get("ts"), int) else "?"
        lines.append(f"- `{at}` {md_escape(describe(e['kind'], e['data']))}")
    return "\n".join(lines) + "\n"


def to_html(info: RecordInfo, entries: list[dict[str, Any]], verdict: Verdict) -> str:
    """One page, snapshots inline as data: URIs, every piece of text escaped."""
    esc = lambda s: html.escape(printable(s), quote=True)  # noqa: E731
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{esc(heading(info))}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
             "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}table{border-collapse:collapse}"
             "code{font-size:90%}.t{color:#666;font-family:monospace}img{max-width:100%}</style>",
             "</head>", "<body>", f"<h1>{esc(heading(info))}</h1>", "<table>"]
    parts += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _facts(info, verdict)]
    parts.append("</table>")
    files = _files(entries)
    if files:
        parts += ["<h2>Files</h2>", "<table>",
                  "<tr><th>direction</th><th>path</th><th>size</th><th>SHA-256</th></tr>"]
        parts += [f"<tr><td>{esc(f.get('direction'))}</td><td>{esc(f.get('path'))}</td>"
                  f"<td>{esc(f.get('size'))}</td><td><code>{esc(f.get('sha256'))}</code></td></tr>" for f in files]
        parts.append("</table>")
    snaps = _snapshots(info, entries)
    if snaps:
        parts.append("<h2>Snapshots</h2>")
        for data, path in snaps:
            encoded = base64.b64encode(path.read_bytes()).decode()
            parts.append(f'<figure><img alt="{esc(path.name)}" src="data:image/png;base64,{encoded}">'
                         f"<figcaption>{esc(path.name)}</figcaption></figure>")
    parts += ["<h2>Timeline</h2>", "<ul>"]
    for e in entries:
        if e["kind"] in ("peer-head", "link"):
            continue
        at = offset((e["ts"] - info.started) / 1000) if isinstance(e.get("ts"), int) else "?"
        parts.append(f'<li><span class="t">{esc(at)}</span> {esc(describe(e["kind"], e["data"]))}</li>')
    parts += ["</ul>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
