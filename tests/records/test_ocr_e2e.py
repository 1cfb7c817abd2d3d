"""Screen text becomes searchable: a host shares a painted Xvfb screen, the joiner takes a
snapshot, its record keeps the PNG and the OCR'd text, and `tickets search` finds the word."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from rassist.records import ocr
from tests.media.conftest import painter  # noqa: F401 - the fixture that paints the Xvfb screen
from tests.procs import Proc
from tests.records.test_record_e2e import tickets

pytestmark = pytest.mark.display


def error_screen() -> np.ndarray:
    img = Image.new("RGB", (1920, 1080), (30, 30, 30))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("DejaVuSansMono.ttf", 20)
    lines = ["user@web01:~$ curl http://localhost:8080/health",
             "curl: (7) Failed to connect to localhost port 8080: ECONNREFUSED",
             "user@web01:~$ systemctl status payments-api", "payments-api.service: Main process exited"]
    for i, line in enumerate(lines):
        draw.text((10, 10 + 26 * i), line, fill=(220, 220, 220), font=font)
    return np.asarray(img)


@pytest.mark.skipif(ocr.unavailable() is not None, reason=f"OCR is off: {ocr.unavailable()}")
def test_a_word_that_was_on_the_hosts_screen_is_found(painter, server, tmp_path):
    painter.put(error_screen())
    data = tmp_path / "data"
    host = Proc(["host", "--json", "--yes", "--server", server, "--no-record"])
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", server, "--title", "payments down"],
                env={"RASSIST_DATA_DIR": str(data)})
    join.wait_event("connected")
    join.wait_event("screen", timeout=40)
    join.send({"snapshot": str(tmp_path / "shot.png")})
    join.wait_event("snapshot", timeout=60)
    join.send({"quit": True})
    assert join.wait_exit(120) == 0  # the record finishes reading the screen before it exits
    host.wait_exit()

    _, found = tickets(data, "search", "ECONNREFUSED")
    assert found[0]["ocr"] == "on" and found[0]["count"] == 1, found
    hit = found[1]
    assert hit["kind"] == "screen-text" and "«ECONNREFUSED»" in hit["snippet"] and hit["at"] > 0
    _, shown = tickets(data, "show", hit["record"])
    snap = next(e["data"] for e in shown if e.get("kind") == "snapshot")
    kept = data / "files" / hit["record"] / snap["file"]
    assert kept.is_file() and Image.open(kept).size == (1920, 1080)
    assert shown[0]["verify"]["ok"]


def test_without_ocr_search_says_it_is_off(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "RASSIST_DATA_DIR": str(tmp_path), "RASSIST_NO_OCR": "1"}
    command = [sys.executable, "-m", "rassist", "tickets", "search", "anything"]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0
    assert '"ocr": "off: RASSIST_NO_OCR is set"' in done.stdout
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and "OCR is off" in done.stderr


@pytest.mark.skipif(ocr.unavailable() is not None, reason=f"OCR is off: {ocr.unavailable()}")
def test_a_recording_joiner_reads_the_screen_once_it_settles(painter, server, tmp_path):
    painter.put(error_screen())
    data = tmp_path / "data"
    host = Proc(["host", "--json", "--yes", "--server", server, "--no-record"])
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", server, "--record", str(tmp_path / "s.mkv")],
                env={"RASSIST_DATA_DIR": str(data)})
    join.wait_event("screen", timeout=40)
    time.sleep(7)  # a few samples of the same, settled screen
    join.send({"quit": True})
    assert join.wait_exit(120) == 0
    host.wait_exit()
    _, found = tickets(data, "search", "payments-api")
    assert found[0]["count"] >= 1, found
    _, shown = tickets(data, "show", found[1]["record"])
    read = [e["data"] for e in shown if e.get("kind") == "screen-text"]
    assert read and read[0]["source"] == "recording" and read[0]["file"] == "s.mkv"
    recorded = [e["data"] for e in shown if e.get("kind") == "recorded"]
    assert recorded and recorded[0]["path"] == str(tmp_path / "s.mkv") and recorded[0]["frames"] > 0


def test_the_host_records_what_it_shares_and_its_ticket_reads_it(painter, server, tmp_path):
    import av

    painter.put(error_screen())
    data = tmp_path / "data"
    video = tmp_path / "shared.mkv"
    host = Proc(["host", "--json", "--yes", "--server", server, "--record", str(video)],
                env={"RASSIST_DATA_DIR": str(data)})
    code = host.wait_event("code")["code"]
    join = Proc(["join", code, "--json", "--server", server, "--no-record"])
    join.wait_event("screen", timeout=40)
    time.sleep(7)
    join.send({"quit": True})
    assert join.wait_exit(60) == 0
    assert host.wait_exit(120) == 0
    recorded = host.wait_event("recorded")
    assert recorded["path"] == str(video) and recorded["frames"] >= 1
    with av.open(str(video)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (1920, 1080)
    if ocr.unavailable() is None:
        _, found = tickets(data, "search", "ECONNREFUSED")
        assert found[0]["count"] >= 1 and found[1]["kind"] == "screen-text", found
