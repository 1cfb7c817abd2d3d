"""The TUI's pure pieces: key mapping, letterboxing and pointer mapping, path completion, link
figures, event lines."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from rassist.protocol.input import Key, Text, parse_command
from rassist.tui.fit import fit
from rassist.tui.frames import letterbox
from rassist.tui.keys import key_command
from rassist.tui.paths import check_sendable, complete, matches
from rassist.tui.stats import Totals, figures
from rassist.tui.text import describe, rate, route_kind, size


@pytest.mark.parametrize("key, character, command", [
    ("a", "a", {"text": "a"}),
    ("A", "A", {"text": "A"}),
    ("space", " ", {"text": " "}),
    ("slash", "/", {"text": "/"}),
    ("eacute", "é", {"text": "é"}),
    ("enter", "\r", {"key": "enter"}),
    ("tab", "\t", {"key": "tab"}),
    ("escape", "\x1b", {"key": "esc"}),
    ("backspace", "\x7f", {"key": "backspace"}),
    ("pageup", None, {"key": "page_up"}),
    ("f5", None, {"key": "f5"}),
    ("ctrl+a", "\x01", {"key": "ctrl+a"}),
    ("ctrl+c", "\x03", {"key": "ctrl+c"}),
    ("shift+tab", None, {"key": "shift+tab"}),
    ("ctrl+shift+up", None, {"key": "ctrl+shift+up"}),
    ("alt+x", "x", {"key": "alt+x"}),
    ("ctrl+alt+delete", None, {"key": "ctrl+alt+delete"}),
    ("ctrl+slash", None, {"key": "ctrl+/"}),
    ("ctrl+minus", None, {"key": "ctrl+-"}),
    ("ctrl+plus", None, {"key": "ctrl++"}),
    ("super+l", None, {"key": "cmd+l"}),
])
def test_terminal_keys_become_commands_the_host_accepts(key, character, command):
    assert key_command(key, character) == command
    events = parse_command(command)  # the host's own parser: it must not refuse what the TUI sends
    assert events and all(isinstance(e, (Key, Text)) for e in events)


def test_keys_without_a_remote_meaning_are_dropped():
    assert key_command("ctrl+unknown_thing", None) is None


def test_a_wide_picture_in_a_tall_pane_gets_bars_above_and_below():
    placed = fit(1920, 1080, cols=40, rows=30, cell_w=1, cell_h=2)  # canvas 40x60 pixels
    assert (placed.canvas_w, placed.canvas_h, placed.w) == (40, 60, 40)
    assert placed.h == round(40 * 1080 / 1920) and placed.y == (60 - placed.h) // 2 and placed.x == 0
    assert placed.to_remote(20, 15, 40, 30) == (0.5, 0.5)
    assert placed.to_remote(0, 15, 40, 30) == (0.0, 0.5)
    assert placed.to_remote(20, 1, 40, 30) is None  # over the black bar
    top = placed.to_remote(20, placed.y / 2, 40, 30)
    assert top is not None and top[1] == pytest.approx(0.0)


def test_a_tall_picture_gets_bars_left_and_right():
    placed = fit(1080, 1920, cols=80, rows=20, cell_w=10, cell_h=20)
    assert placed.h == 400 and placed.x > 0 and placed.w < 800
    assert placed.to_remote(1, 10, 80, 20) is None
    assert placed.to_remote(40, 10, 80, 20) == pytest.approx((0.5, 0.5), abs=0.01)


@pytest.mark.parametrize("make", ["pil", "numpy", "av"])
def test_letterbox_takes_every_kind_of_frame(make):
    rgb = np.zeros((90, 160, 3), np.uint8)
    rgb[:, :80] = (255, 0, 0)  # left half red, right half black
    frame = {"pil": lambda: Image.fromarray(rgb), "numpy": lambda: rgb,
             "av": lambda: av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")}[make]()
    canvas, placed = letterbox(frame, 20, 10, 1, 2)
    assert canvas.size == (20, 20) and (placed.w, placed.h) == (20, round(20 * 90 / 160))
    left = canvas.getpixel((placed.x + 2, placed.y + placed.h // 2))
    right = canvas.getpixel((placed.x + placed.w - 3, placed.y + placed.h // 2))
    assert left[0] > 200 and right[0] < 60
    assert canvas.getpixel((10, 0)) == (0, 0, 0)  # the bar


def test_path_completion(tmp_path, monkeypatch):
    (tmp_path / "reports").mkdir()
    (tmp_path / "report.pdf").write_bytes(b"%PDF")
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / ".secret").write_text("x")
    base = f"{tmp_path}/"
    assert matches(base) == [base + "readme.txt", base + "report.pdf", base + "reports/"]
    assert complete(base + "rep") == base + "report"  # the common prefix of report.pdf and reports/
    assert complete(base + "report.") == base + "report.pdf"
    assert complete(base + "reports") == base + "reports/"
    assert complete(base + ".") == base + ".secret"  # hidden only when asked for
    assert complete(base + "zzz") is None
    monkeypatch.chdir(tmp_path)
    assert matches("rea") == ["readme.txt"]
    assert check_sendable("readme.txt").name == "readme.txt"
    with pytest.raises(ValueError, match="no such file"):
        check_sendable("nothing-here")
    with pytest.raises(ValueError, match="type the path"):
        check_sendable("  ")


def test_link_figures_between_two_samples():
    before = Totals(at=10.0, bytes_sent=1_000, bytes_received=50_000, rtp_received=1000, rtp_lost=0, rtt_s=0.0042)
    after = Totals(at=12.0, bytes_sent=3_000, bytes_received=300_000, rtp_received=1490, rtp_lost=10, rtt_s=0.005)
    got = figures(before, after)
    assert got["rtt_ms"] == 5.0
    assert got["sent_kbps"] == 8.0 and got["received_kbps"] == 1000.0 and got["bitrate_kbps"] == 1008.0
    assert got["loss"] == 0.02  # 10 lost of 500
    first = figures(None, after)
    assert first["bitrate_kbps"] is None and first["rtt_ms"] == 5.0
    sender = figures(before, Totals(at=12.0, reported_loss=0.25))
    assert sender["loss"] == 0.25 and sender["rtt_ms"] is None


def test_event_lines_escape_what_the_peer_controls():
    line = describe("chat-like-unknown", {"x": "[red]boom[/red]"})
    assert line is not None and "\\[red]" in line
    assert "\\[b]evil" in describe("request", {"peer": "[b]evil", "wants": ["view"]})
    assert describe("closed", {"reason": "peer-left"}) == "Session closed: the other side left"
    assert "relay" in describe("connected", {"peer": "p", "role": "join", "granted": [],
                                             "route": {"local": "relay", "remote": "host"}})
    assert describe("chat", {"from": "me", "text": "hi"}) is None  # the chat pane shows it
    assert route_kind({"local": "host", "remote": "srflx"}) == "srflx"
    assert route_kind(None) == "?"
    assert (size(999), size(1_500_000), rate(640), rate(1830.5), rate(None)) == \
        ("999 bytes", "1.5 MB", "640 kb/s", "1.8 Mb/s", "– kb/s")


def test_the_hooks_and_stats_load_without_textual():
    """The CLI builds these in --json mode too: they must not pull Textual in."""
    import subprocess
    import sys

    code = ("import sys, rassist.tui, rassist.tui.hooks, rassist.tui.stats; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_half_blocks_put_the_upper_pixel_in_front_and_merge_runs():
    from rassist.tui.widgets.halfblocks import LineMaker

    canvas = Image.new("RGB", (6, 4), (0, 0, 0))
    for x in range(6):
        canvas.putpixel((x, 0), (255, 0, 0))          # row 0: red over...
        canvas.putpixel((x, 1), (0, 0, 255) if x < 4 else (0, 255, 0))  # ...blue, then green
    lines = LineMaker()(canvas)
    assert len(lines) == 2 and all(line.cell_length == 6 for line in lines)
    first = list(lines[0])
    assert [seg.text for seg in first] == ["▀▀▀▀", "▀▀"]
    assert first[0].style.color.triplet == (255, 0, 0) and first[0].style.bgcolor.triplet == (0, 0, 255)
    assert first[1].style.bgcolor.triplet == (0, 255, 0)
    assert [seg.text for seg in lines[1]] == ["▀" * 6]
