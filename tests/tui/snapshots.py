"""Screenshot comparison without extra plugins: the app's SVG screenshot and its plain text are
compared with files stored under tests/tui/snapshots/.

RASSIST_UPDATE_SNAPSHOTS=1 pytest tests/tui  rewrites them (review the .txt diff before committing)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from textual.widgets import Input

from tests.tui.pilot import screen_text

STORE = Path(__file__).parent / "snapshots"
UPDATE_FLAG = "RASSIST_UPDATE_SNAPSHOTS"
VERSIONS = STORE / "VERSIONS"  # what drew the stored pictures: other versions draw differently


def versions() -> str:
    from importlib.metadata import version

    return "".join(f"{name} {version(name)}\n" for name in ("textual", "rich", "textual-image"))


def freeze(app: Any) -> None:
    """Take out what changes by itself between two runs (a blinking cursor)."""
    for field in app.query(Input):
        field.cursor_blink = False
    for screen in app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False


async def settle(app: Any, pilot: Any, name: str, rounds: int = 20) -> str:
    """The screenshot once two in a row agree: on a loaded machine a refresh can still be queued
    after a pause (the test then compared a half-drawn screen)."""
    freeze(app)
    svg = app.export_screenshot(title=name)
    for _ in range(rounds):
        await pilot.pause(0.05)
        again = app.export_screenshot(title=name)
        if again == svg:
            break
        svg = again
    return svg


async def check(app: Any, pilot: Any, name: str) -> None:
    svg = await settle(app, pilot, name)
    text = screen_text(app)
    svg_path, text_path = STORE / f"{name}.svg", STORE / f"{name}.txt"
    if os.environ.get(UPDATE_FLAG) == "1" or not svg_path.exists():
        if os.environ.get(UPDATE_FLAG) != "1":
            raise AssertionError(f"no stored snapshot {svg_path.name}; run with {UPDATE_FLAG}=1 to create it")
        STORE.mkdir(exist_ok=True)
        svg_path.write_text(svg)
        text_path.write_text(text)
        VERSIONS.write_text(versions())
        return
    if VERSIONS.exists() and VERSIONS.read_text() != versions():
        raise AssertionError(f"the snapshots were drawn by\n{VERSIONS.read_text()}but this is\n{versions()}"
                             f"re-run with {UPDATE_FLAG}=1 and review the .txt diffs")
    want_text = text_path.read_text() if text_path.exists() else ""
    if text != want_text:
        diff = "\n".join(difflib.unified_diff(want_text.splitlines(), text.splitlines(), "stored", "now", lineterm=""))
        raise AssertionError(f"{name}: the screen text changed ({UPDATE_FLAG}=1 to accept):\n{diff}")
    if svg != svg_path.read_text():
        raise AssertionError(f"{name}: same text, different colours or styles ({UPDATE_FLAG}=1 to accept)")
