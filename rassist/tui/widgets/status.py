"""The status bar: one line of who, how and how well; what does not fit is dropped, least useful first."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from rassist.tui.text import rate, route_label

SEPARATOR = " │ "


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields: dict[str, Any] = {"state": "starting"}

    def set(self, **fields: Any) -> None:
        """Change some figures; None clears one."""
        self.fields.update(fields)
        self.refresh()

    def parts(self) -> list[tuple[int, str, str]]:
        """(priority, text, style) for each item; a higher priority survives a narrow terminal."""
        f = self.fields
        state = str(f.get("state", ""))
        live = state in ("connected", "controlling")
        colour = {"connected": "bold green", "controlling": "bold white on red"}.get(state, "bold yellow")
        peer = str(f.get("peer") or "")
        peer = peer if len(peer) <= 24 else peer[:23] + "…"
        items: list[tuple[int, str, str]] = [(9, "●" if state == "connected" else f"● {state}", colour)]
        if peer:
            items.append((8, peer, "bold"))
        if f.get("route"):
            items.append((6, route_label(f["route"]), ""))
        if live:
            rtt = f.get("rtt_ms")
            items.append((5, f"RTT {rtt:.0f} ms" if isinstance(rtt, (int, float)) else "RTT –", ""))
            items.append((4, rate(f.get("bitrate_kbps")), ""))
            fps = f.get("fps")
            if isinstance(fps, (int, float)):
                items.append((3, f"{fps:.0f} fps", ""))
            loss = f.get("loss")
            items.append((2, f"loss {loss * 100:.1f}%" if isinstance(loss, (int, float)) else "loss –", ""))
        if f.get("permissions") is not None:
            items.append((1, str(f["permissions"]).replace(", ", "+"), "italic"))
        return items

    def render(self) -> Text:
        items = self.parts()
        width = max(1, self.size.width - 2 if self.size.width else 80)
        kept = list(items)
        while len(kept) > 1 and len(self._line(kept).plain) > width:
            kept.remove(min(kept, key=lambda item: item[0]))
        return self._line(kept)

    @staticmethod
    def _line(items: list[tuple[int, str, str]]) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        for i, (_, text, style) in enumerate(items):
            if i:
                # The bare dot (connected) sits right next to the peer's name.
                line.append(" " if items[i - 1][1] == "●" else SEPARATOR, style="dim")
            line.append(text, style=style)
        return line
