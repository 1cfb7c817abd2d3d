"""Peer-supplied text made safe to show on a terminal or in the TUI. Pure.

A peer's name, chat line, file name or error reason could otherwise carry terminal escapes
(clear the screen, set the window title, write the clipboard with OSC 52, hide words of a
consent prompt with SGR 8) or bidirectional overrides that make "txt.exe" read "exe.txt".
`visible` shows control characters in caret notation (ESC is "^[", DEL is "^?"), C1 controls,
direction controls and line separators as "<U+XXXX>", and lone surrogates (which no encoder
accepts) as U+FFFD. Everything else, including any script and emoji, is kept as it is.

Every layer that shows peer text (cli/output.py, the consent prompts, the TUI) calls this
function, at the point where the text enters it."""

from __future__ import annotations

import re
from typing import Any

# Direction controls: embeddings and overrides (U+202A-202E), isolates (U+2066-2069), and the
# invisible marks (U+200E, U+200F, U+061C); line and paragraph separators (U+2028, U+2029).
_DIRECTION = [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
              0x200E, 0x200F, 0x061C]
_SEPARATORS = [0x2028, 0x2029]

_TABLE: dict[int, str] = {c: "^" + chr(c + 64) for c in range(0x20)}
_TABLE[0x7F] = "^?"
_TABLE.update({c: f"<U+{c:04X}>" for c in [*range(0x80, 0xA0), *_DIRECTION, *_SEPARATORS]})
_MULTILINE_TABLE = {c: s for c, s in _TABLE.items() if c not in (0x0A, 0x09)}
_SURROGATE = re.compile("[\ud800-\udfff]")


def visible(text: object, multiline: bool = False) -> str:
    """`text` (any value, as str()) with nothing a terminal would obey. With `multiline`,
    newlines and tabs are kept (a text snippet); otherwise they show as ^J and ^I."""
    shown = str(text).translate(_MULTILINE_TABLE if multiline else _TABLE)
    return _SURROGATE.sub("\ufffd", shown)


def visible_fields(value: Any, multiline: frozenset[str] = frozenset()) -> Any:
    """Every string in an event's fields (nested lists and dicts too) made visible; keys named
    in `multiline` keep their newlines. Numbers, booleans and None pass unchanged."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {visible(k): (visible(v, multiline=True) if k in multiline and isinstance(v, str)
                             else visible_fields(v, multiline)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [visible_fields(v, multiline) for v in value]
    return value


# Event fields that are multi-line by nature (a text snippet) keep their newlines.
_MULTILINE = {"text": frozenset({"text"})}


def visible_event(event: str, fields: dict[str, Any]) -> dict[str, Any]:
    """An event's fields (as in the --json stream) made safe to show: what the CLI's human
    output and the TUI do with every event before any line of it is drawn."""
    return visible_fields(fields, _MULTILINE.get(event, frozenset()))
