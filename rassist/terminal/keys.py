"""Remote-input commands ({"text": ...} or {"key": "ctrl+c"}, as the TUI makes them) as the bytes
a terminal would send to the shell. Pure: data in, bytes out (None: no terminal meaning)."""

from __future__ import annotations

from typing import Any

_SEQUENCES = {
    "enter": b"\r", "tab": b"\t", "backspace": b"\x7f", "esc": b"\x1b", "space": b" ",
    "up": b"\x1b[A", "down": b"\x1b[B", "right": b"\x1b[C", "left": b"\x1b[D",
    "home": b"\x1b[H", "end": b"\x1b[F", "insert": b"\x1b[2~", "delete": b"\x1b[3~",
    "page_up": b"\x1b[5~", "page_down": b"\x1b[6~",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS",
    "f5": b"\x1b[15~", "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~",
    "f9": b"\x1b[20~", "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~",
}


def command_bytes(cmd: dict[str, Any]) -> bytes | None:
    text = cmd.get("text")
    if isinstance(text, str) and text:
        return text.encode("utf-8", "replace")
    key = cmd.get("key")
    if not isinstance(key, str) or not key:
        return None
    *mods, base = key.split("+")
    data = _SEQUENCES.get(base)
    if data is None and len(base) == 1:
        data = base.encode("utf-8", "replace")
    if data is None:
        return None
    if "ctrl" in mods:
        if len(data) != 1:
            return None if data[:1] != b"\x1b" else data  # ctrl+arrow: the plain arrow will do
        char = data.lower()[0]
        if 0x61 <= char <= 0x7A:               # ctrl+a .. ctrl+z
            data = bytes([char - 0x60])
        elif char in b"@[\\]^_":
            data = bytes([char & 0x1F])
        elif char == 0x20:                     # ctrl+space is NUL
            data = b"\x00"
    if "shift" in mods and base == "tab":
        data = b"\x1b[Z"
    if "alt" in mods:
        data = b"\x1b" + data
    return data
