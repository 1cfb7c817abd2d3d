"""The names keys go by in remote input: canonical names on the wire, friendlier spellings in
commands. Pure data."""

from __future__ import annotations

from collections.abc import Mapping

# Key names (pynput's spelling): what the host can press by name.
KEY_NAMES: frozenset[str] = frozenset(
    ["alt", "alt_l", "alt_r", "alt_gr", "backspace", "caps_lock", "cmd", "cmd_l", "cmd_r",
     "ctrl", "ctrl_l", "ctrl_r", "delete", "down", "end", "enter", "esc", "home", "left",
     "page_down", "page_up", "right", "shift", "shift_l", "shift_r", "space", "tab", "up",
     "insert", "menu", "num_lock", "pause", "print_screen", "scroll_lock",
     "media_play_pause", "media_volume_mute", "media_volume_down", "media_volume_up",
     "media_previous", "media_next"]
    + [f"f{n}" for n in range(1, 21)]
)

# Friendlier spellings accepted in commands; the wire carries only canonical names.
KEY_ALIASES: Mapping[str, str] = {
    "control": "ctrl", "super": "cmd", "win": "cmd", "meta": "cmd", "command": "cmd",
    "return": "enter", "escape": "esc", "del": "delete", "ins": "insert",
    "pgup": "page_up", "pageup": "page_up", "pgdn": "page_down", "pagedown": "page_down",
    "altgr": "alt_gr", "capslock": "caps_lock", "numlock": "num_lock",
    "scrolllock": "scroll_lock", "print": "print_screen", "printscreen": "print_screen",
    "prtsc": "print_screen", "spacebar": "space", "bksp": "backspace",
    "arrowup": "up", "arrowdown": "down", "arrowleft": "left", "arrowright": "right",
    "plus": "+", "minus": "-",
}
