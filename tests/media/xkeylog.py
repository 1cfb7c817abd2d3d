"""A tiny X client for the input tests: a focused window covering the screen that prints every
key and button event it receives as one JSON line on stdout.

    DISPLAY=:N python3 -m tests.media.xkeylog

First line: {"ready": true, "window": id} once the window is mapped and has the focus. Then, per
event: {"type": "KeyPress"|"KeyRelease"|"ButtonPress"|"ButtonRelease", "code": keycode or
button, "key": keysym name ("Control_L", "t") or null, "char": typed character or null, "state": modifier mask,
"x": root x, "y": root y, "synthetic": true for XSendEvent events}. Ends on stdin EOF.
"""

from __future__ import annotations

import json
import select
import sys

import Xlib.display
import Xlib.X
import Xlib.XK

SHIFT, LOCK = Xlib.X.ShiftMask, Xlib.X.LockMask

for _group in ("miscellany", "latin1", "latin2", "latin3", "latin4", "greek", "xkb"):
    Xlib.XK.load_keysym_group(_group)
# keysym -> its name ("Control_L", "t", "EuroSign"); the first name wins for aliases.
KEYSYM_NAMES: dict[int, str] = {}
for _name, _value in sorted(vars(Xlib.XK).items()):
    if _name.startswith("XK_") and isinstance(_value, int):
        KEYSYM_NAMES.setdefault(_value, _name[3:])


def main() -> None:
    display = Xlib.display.Display()
    screen = display.screen()
    window = screen.root.create_window(
        0, 0, screen.width_in_pixels, screen.height_in_pixels, 0, screen.root_depth,
        Xlib.X.InputOutput, Xlib.X.CopyFromParent,
        background_pixel=screen.white_pixel, override_redirect=True,
        event_mask=(Xlib.X.KeyPressMask | Xlib.X.KeyReleaseMask | Xlib.X.ButtonPressMask
                    | Xlib.X.ButtonReleaseMask | Xlib.X.StructureNotifyMask),
    )
    window.map()
    while display.next_event().type != Xlib.X.MapNotify:
        pass
    window.set_input_focus(Xlib.X.RevertToParent, Xlib.X.CurrentTime)
    display.sync()
    emit({"ready": True, "window": window.id})

    fd = display.fileno()
    while True:
        while display.pending_events():
            event = display.next_event()
            if event.type == Xlib.X.MappingNotify:  # the injector may borrow a keycode for a rare character
                display.refresh_keyboard_mapping(event)
            elif event.type in (Xlib.X.KeyPress, Xlib.X.KeyRelease):
                emit(describe_key(display, event))
            elif event.type in (Xlib.X.ButtonPress, Xlib.X.ButtonRelease):
                emit({"type": NAMES[event.type], "code": event.detail, "key": None, "char": None,
                      "state": event.state, "x": event.root_x, "y": event.root_y,
                      "synthetic": bool(event.send_event)})
        ready, _, _ = select.select([fd, sys.stdin], [], [], 1.0)
        if sys.stdin in ready and not sys.stdin.readline():
            return


NAMES = {Xlib.X.KeyPress: "KeyPress", Xlib.X.KeyRelease: "KeyRelease",
         Xlib.X.ButtonPress: "ButtonPress", Xlib.X.ButtonRelease: "ButtonRelease"}


def describe_key(display: Xlib.display.Display, event: object) -> dict[str, object]:
    state = event.state  # type: ignore[attr-defined]
    index = 1 if state & (SHIFT | LOCK) else 0
    keysym = display.keycode_to_keysym(event.detail, index)  # type: ignore[attr-defined]
    if keysym == 0:
        keysym = display.keycode_to_keysym(event.detail, 0)  # type: ignore[attr-defined]
    name = KEYSYM_NAMES.get(keysym, f"U+{keysym & 0xFFFFFF:04X}" if keysym >> 24 == 1 else hex(keysym))
    return {"type": NAMES[event.type], "code": event.detail,  # type: ignore[attr-defined]
            "key": name, "char": char_of(keysym), "state": state,
            "x": event.root_x, "y": event.root_y,  # type: ignore[attr-defined]
            "synthetic": bool(event.send_event)}  # type: ignore[attr-defined]


def char_of(keysym: int) -> str | None:
    """The character a keysym types: Latin-1 keysyms are their code point, Unicode keysyms carry it."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if keysym & 0xFF000000 == 0x01000000:
        return chr(keysym & 0x00FFFFFF)
    return None


def emit(obj: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
