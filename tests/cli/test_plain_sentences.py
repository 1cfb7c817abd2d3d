"""Plain mode speaks in sentences: no JSON dicts, one way of writing sizes."""

from __future__ import annotations

from rich.filesize import decimal

from rassist.cli.output import _human
from rassist.cli.transfer_view import files_renderers, offer_summary
from rassist.tui.text import size


def test_screen_and_other_events_are_sentences_not_dicts() -> None:
    events = [("screen", {"state": "sharing", "monitor": 1, "width": 1920, "height": 1080}),
              ("screen", {"state": "receiving", "width": 1920, "height": 1080}),
              ("screen", {"state": "unavailable", "message": "no display to capture: DISPLAY is not set"}),
              ("snapshot", {"path": "a.png", "width": 800, "height": 600}),
              ("recorded", {"path": "s.mkv", "frames": 12}),
              ("connection", {"state": "connected"}),
              ("some-new-event", {"id": "t1", "count": 2})]
    for name, fields in events:
        line = _human(name, fields)
        assert line and "{" not in line and '"' not in line, (name, line)
    assert _human("screen", events[0][1]) == "Sharing monitor 1 (1920x1080)."
    assert "chat and files still work" in _human("screen", events[2][1])


def test_a_text_offer_does_not_count_files() -> None:
    fields = {"id": "t1", "peer": "ann", "name": "text", "text": True, "files": 0, "size": 12}
    assert "file(s)" not in offer_summary(fields)
    assert "file(s)" not in files_renderers()["file-offered"](fields)


def test_sizes_are_written_the_same_way_everywhere() -> None:
    for n in (0, 999, 1500, 2_500_000, 7_300_000_000):
        assert size(n) == decimal(n)
    assert size(1500) == "1.5 kB"
    assert size(-1) == "?" and size("x") == "?"
