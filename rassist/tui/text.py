"""Session events as short human lines (Rich markup), and the numbers the panes show.

Pure: an event name and its fields in, a line out. Fields come from the peer's features and the
network, so every value is escaped and every field is optional."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape

from rassist.transport.route import summary

CLOSED_REASONS = {"quit": "you left", "peer-left": "the other side left", "interrupted": "interrupted",
                  "shell-exited": "the shared shell ended", "removed": "the host removed you"}


def size(n: Any) -> str:
    """Bytes written the way the CLI's lines and progress bars write them (rich: 1.5 kB, 3.2 MB)."""
    if not isinstance(n, (int, float)) or isinstance(n, bool) or n < 0:
        return "?"
    from rich.filesize import decimal

    return decimal(int(n))


def rate(kbps: Any) -> str:
    if not isinstance(kbps, (int, float)):
        return "– kb/s"
    return f"{kbps / 1000:.1f} Mb/s" if kbps >= 1000 else f"{kbps:.0f} kb/s"


def link_summary(f: dict[str, Any]) -> str:
    """One helper's link in a few words, from a stats event: "RTT 12 ms, 640 kb/s, loss 0.0%"."""
    rtt, loss = f.get("rtt_ms"), f.get("loss")
    parts = [f"RTT {rtt:.0f} ms" if isinstance(rtt, (int, float)) else "RTT –", rate(f.get("bitrate_kbps"))]
    if isinstance(loss, (int, float)):
        parts.append(f"loss {loss * 100:.1f}%")
    return ", ".join(parts)


def route_kind(route: Any) -> str:
    """"host" (direct on the LAN), "srflx" (direct through NAT), "relay" (through TURN)."""
    if not isinstance(route, dict):
        return "?"
    kinds = {str(route.get("local", "?")), str(route.get("remote", "?"))}
    for kind in ("relay", "prflx", "srflx", "host"):
        if kind in kinds:
            return kind
    return "?"


def route_label(route: Any) -> str:
    """A few words for the status bar: LAN, NAT (direct through it), relay UDP/TCP/TLS."""
    if isinstance(route, dict) and route.get("path") == "relay":
        over = str(route.get("relay", ""))
        return f"relay {over.upper()}" if over in ("udp", "tcp", "tls") else "TURN relay"
    if isinstance(route, dict) and route.get("path") == "lan":
        return "LAN"
    kind = route_kind(route)
    return {"host": "LAN" if not isinstance(route, dict) or route.get("path") != "direct" else "direct",
            "srflx": "NAT", "prflx": "NAT", "relay": "TURN relay"}.get(kind, kind)


def describe_route(route: Any) -> str:
    if not isinstance(route, dict):
        return "unknown route"
    if route.get("path"):
        text = summary(route)
        if route.get("remote_address"):
            text += f" ({route.get('local', '?')} → {route.get('remote', '?')}, {route['remote_address']})"
        return escape(text)
    text = f"ICE pair {route.get('local', '?')} → {route.get('remote', '?')}"
    if "remote_address" in route:
        text += f" ({route.get('protocol', 'udp')} {route.get('local_address', '?')} → {route['remote_address']})"
    return escape(text)


def permissions(granted: Any) -> str:
    return ", ".join(str(p) for p in granted) if isinstance(granted, list) and granted else "chat only"


def describe(event: str, f: dict[str, Any]) -> str | None:
    """The event log's line for an event; None for events the log leaves to other panes."""
    peer = escape(str(f.get("peer", "the peer")))
    match event:
        case "code":
            return f"Code [b]{escape(str(f.get('code')))}[/b] issued"
        case "waiting":
            return {"joiner": "Waiting for someone to join", "approval": "Waiting for the host to approve"}.get(
                str(f.get("for")), f"Waiting for {escape(str(f.get('for')))}")
        case "request":
            return f"{peer} asks for: {escape(permissions(f.get('wants')))}"
        case "connected":
            return (f"[green]Connected[/] to {peer} ({escape(str(f.get('role', '?')))}); "
                    f"allowed: {escape(permissions(f.get('granted')))}; {describe_route(f.get('route'))}")
        case "connection":
            return f"Connection state: {escape(str(f.get('state')))}"
        case "error":
            return f"[red]Error[/] ({escape(str(f.get('kind', 'error')))}): {escape(str(f.get('message', '')))}"
        case "closed":
            reason = str(f.get("reason", ""))
            return f"Session closed: {escape(CLOSED_REASONS.get(reason, reason))}"
        case "control":
            extra = f" ({escape(str(f['reason']))})" if isinstance(f.get("reason"), str) else ""
            return f"Control {escape(str(f.get('state')))}{extra}"
        case "control-request":
            return f"{peer} asks for control"
        case "screen" if f.get("state") == "unavailable":
            return f"[yellow]Screen not shared[/]: {escape(str(f.get('message', '')))}"
        case "annotate":
            extra = f" ({escape(str(f['reason']))})" if isinstance(f.get("reason"), str) else ""
            return f"Pointing and drawing {escape(str(f.get('state')))}{extra}"
        case "mark":
            who = "You" if f.get("peer") == "me" else peer
            return f"{who}: {escape(str(f.get('kind')))} on the screen"
        case "mark-refused":
            return f"[yellow]Refused {escape(str(f.get('count')))} mark(s)[/] from {peer}: {escape(str(f.get('message')))}"
        case "screen":
            dims = f" {f.get('width')}x{f.get('height')}" if f.get("width") else ""
            return f"Screen: {escape(str(f.get('state')))}{escape(dims)}"
        case "file-offer":
            return f"{peer} offers {escape(str(f.get('name', '?')))} ({size(f.get('size'))})"
        case "file-offered":
            return f"Offered {escape(str(f.get('name', '?')))} ({size(f.get('size'))}) to {peer}"
        case "file-accepted" | "file-declined":
            verb = event.split("-")[1]
            reason = f": {escape(str(f['reason']))}" if isinstance(f.get("reason"), str) else ""
            return f"Transfer {escape(str(f.get('id', '?')))} {verb}{reason}"
        case "file-done":
            where = f" → {escape(str(f['saved_to']))}" if isinstance(f.get("saved_to"), str) else ""
            verb = "received" if f.get("direction") == "receive" else "sent"
            return f"File {verb}: {escape(str(f.get('path', f.get('id', '?'))))}{where}"
        case "transfer-done":
            return (f"Transfer {escape(str(f.get('id', '?')))} done: {size(f.get('bytes'))} "
                    f"over {escape(str(f.get('lane', '?')))}")
        case "record":
            return f"[dim]Recording this session as ticket {escape(str(f.get('id')))}[/]"
        case "record-warning":
            return f"[yellow]Ticket:[/] {escape(str(f.get('message')))}"
        case "note":
            return f"Noted in the ticket: {escape(str(f.get('text')))}"
        case "invite":
            return f"Invitation [b]{escape(str(f.get('code')))}[/b] issued"
        case "invite-closed":
            return f"Invitation {escape(str(f.get('code')))} {escape(str(f.get('reason')))}"
        case "joined":
            return f"{peer} joined ({escape(str(f.get('participant')))}); allowed: {escape(permissions(f.get('granted')))}"
        case "left":
            return f"{peer} left ({escape(str(f.get('reason')))})"
        case "participants":
            return None  # the panel shows them
        case "reconnecting":
            return f"[yellow]{peer}: link dropped, reconnecting ({escape(str(f.get('seconds_left')))} s left)[/]"
        case "reconnected":
            return f"[green]{peer}: reconnected[/]"
        case "chat" | "stats" | "file-progress" | "file-lane" | "text":
            return None
        case _:
            return f"[dim]{escape(event)}: {escape(json.dumps(f, ensure_ascii=False, default=str)[:300])}[/]"
