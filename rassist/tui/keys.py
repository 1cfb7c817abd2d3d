"""Textual key events as remote-input commands ({"text": ...} or {"key": "ctrl+alt+t"}).

Pure: data in, a command out. Textual names keys its own way ("pageup", "escape", "slash",
"ctrl+shift+up"); the host understands the names in rassist.protocol.input."""

from __future__ import annotations

import unicodedata
from typing import Any

MODIFIERS = ("ctrl", "alt", "shift", "meta", "super", "hyper")
_WIRE_MODIFIER = {"ctrl": "ctrl", "alt": "alt", "shift": "shift", "meta": "alt", "super": "cmd", "hyper": "cmd"}
_NAMED = {
    "escape": "esc", "enter": "enter", "tab": "tab", "backspace": "backspace", "delete": "delete",
    "insert": "insert", "home": "home", "end": "end", "pageup": "page_up", "pagedown": "page_down",
    "up": "up", "down": "down", "left": "left", "right": "right", "space": "space",
    **{f"f{n}": f"f{n}" for n in range(1, 21)},
}
# Textual renames a few characters (textual.keys.KEY_NAME_REPLACEMENTS); back to Unicode names.
_UNICODE_NAME = {"slash": "SOLIDUS", "backslash": "REVERSE SOLIDUS", "at": "COMMERCIAL AT",
                 "minus": "HYPHEN-MINUS", "plus": "PLUS SIGN", "underscore": "LOW LINE"}


def _base_key(name: str) -> str | None:
    """A Textual key name without modifiers -> the wire key name, None if unknown."""
    if name in _NAMED:
        return _NAMED[name]
    if len(name) == 1:
        return name.lower() if name.isascii() and name.isalpha() else name
    try:
        char = unicodedata.lookup(_UNICODE_NAME.get(name, name.replace("_", " ")))
    except KeyError:
        return None
    return char if char.isprintable() else None


def key_command(key: str, character: str | None) -> dict[str, Any] | None:
    """The remote-input command for one key press, or None if it has no remote equivalent.

    Plain printable characters are typed as text (layout-independent on the host); anything
    with ctrl/alt/super, and named keys, is sent as a chord."""
    *mods, base = key.split("+")  # Textual calls "+" itself "plus", so "+" only separates
    mods = [m for m in mods if m in MODIFIERS]
    chord_mods = [m for m in mods if m != "shift"]
    if character and len(character) == 1 and character.isprintable() and not chord_mods:
        return {"text": character}
    wire = _base_key(base)
    if wire is None:
        return None
    ordered = [_WIRE_MODIFIER[m] for m in MODIFIERS if m in mods]
    return {"key": "+".join(dict.fromkeys([*ordered, wire]))}
