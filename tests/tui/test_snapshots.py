"""The main layouts at 80x24 and 120x40, drawn from a fixed sequence of session events.

The apps here get their events through the same emit path a session uses, but from the test:
the layout must not depend on ports, codes or the clock."""

from __future__ import annotations

import asyncio
import time

import pytest
from PIL import Image, ImageDraw

from rassist.pairing import HostOptions, JoinOptions
from rassist.protocol.pairing import PeerHello
from rassist.tui.dialogs import ApproveDialog
from rassist.tui.hooks import TuiHooks
from rassist.tui.host_app import HostApp
from rassist.tui.join_app import JoinApp
from tests.tui import snapshots
from tests.tui.pilot import until

NOON = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
ROUTE = {"local": "host", "remote": "host", "local_address": "192.0.2.10:50000",
         "remote_address": "192.0.2.20:50001", "protocol": "udp"}


@pytest.fixture(autouse=True)
def fixed_world(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("RASSIST_TUI_GRAPHICS", "halfcell")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def never_connects(emit):
    await asyncio.Event().wait()


def desktop() -> Image.Image:
    """A made-up desktop: a blue background, a window with a title bar and lines of 'text'."""
    picture = Image.new("RGB", (1280, 800), (40, 80, 160))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((160, 120, 1000, 640), fill=(240, 240, 240))
    draw.rectangle((160, 120, 1000, 170), fill=(60, 60, 70))
    for row in range(8):
        draw.rectangle((200, 200 + row * 50, 200 + (row * 97) % 600 + 150, 220 + row * 50), fill=(30, 30, 30))
    draw.rectangle((0, 760, 1280, 800), fill=(20, 20, 20))
    return picture


def join_events(app: JoinApp) -> None:
    app.emit("waiting", **{"for": "approval"})
    app.emit("connected", peer="helpdesk@desk", role="join", granted=["control", "view"], route=ROUTE)
    app.emit("chat", **{"from": "helpdesk@desk", "text": "Hi! I can see your screen now."})
    app.emit("chat", **{"from": "me", "text": "Great, the printer dialog is the problem."})
    app.emit("control", state="granted", peer="helpdesk@desk")
    app.emit("stats", rtt_ms=3.2, bitrate_kbps=1830.5, fps=14.8, loss=0.002, route=ROUTE)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_join_connected_with_a_screen(size):
    hooks = TuiHooks()
    app = JoinApp("7-acme-adviser", JoinOptions(name="alice"), hooks, clock=lambda: NOON, connect=never_connects)
    async with app.run_test(size=size) as pilot:
        join_events(app)
        hooks.on_frame(desktop())
        await until(pilot, lambda: app.screen_pane.has_class("-picture"), "the picture")
        await pilot.pause()
        await snapshots.check(app, pilot, f"join-connected-{size[0]}x{size[1]}")


async def test_join_in_control_mode_80x24():
    hooks = TuiHooks()
    app = JoinApp("7-acme-adviser", JoinOptions(name="alice"), hooks, clock=lambda: NOON, connect=never_connects)
    async with app.run_test(size=(80, 24)) as pilot:
        join_events(app)
        hooks.on_frame(desktop())
        await until(pilot, lambda: app.screen_pane.has_class("-picture"), "the picture")
        app.screen_pane.focus()
        app.screen_pane.controlling = True
        await pilot.pause()
        await snapshots.check(app, pilot, "join-controlling-80x24")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_host_approval_dialog(size):
    app = HostApp(HostOptions(name="desk"), clock=lambda: NOON, connect=never_connects)
    async with app.run_test(size=size) as pilot:
        app.emit("code", code="7-acme-adviser")
        app.emit("waiting", **{"for": "joiner"})
        app.emit("request", peer="alice@laptop", wants=["view", "control", "files"])
        asking = asyncio.ensure_future(app.approve(PeerHello("alice@laptop", ("view", "control", "files"))))
        await until(pilot, lambda: isinstance(app.screen, ApproveDialog), "the approval dialog")
        await pilot.pause()
        await snapshots.check(app, pilot, f"host-approve-{size[0]}x{size[1]}")
        await pilot.press("n")
        assert await asyncio.wait_for(asking, 5) is None


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_host_connected_with_transfers(size):
    app = HostApp(HostOptions(name="desk"), clock=lambda: NOON, connect=never_connects)
    async with app.run_test(size=size) as pilot:
        app.emit("code", code="7-acme-adviser")
        app.emit("connected", peer="alice@laptop", role="host", granted=["files", "view"], route=ROUTE)
        app.emit("screen", state="sharing", monitor=1, width=1920, height=1080)
        app.emit("chat", **{"from": "alice@laptop", "text": "Sending you the log file."})
        app.emit("file-offer", id="t0", direction="receive", peer="alice@laptop", name="screenshot.png",
                 files=1, dirs=0, size=310_000)
        app.emit("file-accepted", id="t0", direction="receive", peer="alice@laptop", target="/home/desk")
        app.emit("file-done", id="t0", direction="receive", path="screenshot.png", size=310_000,
                 saved_to="/home/desk/screenshot.png", moved=310_000, resumed_from=0)
        app.emit("transfer-done", id="t0", direction="receive", lane="tcp", files=1, bytes=310_000,
                 moved=310_000, seconds=0.4, rate=775_000, target="/home/desk")
        app.emit("file-offered", id="t1", direction="send", peer="alice@laptop", lane="tcp",
                 name="install.log", files=1, dirs=0, size=2_400_000)
        app.emit("file-accepted", id="t1", direction="send", peer="alice@laptop")
        app.emit("file-progress", id="t1", direction="send", name="install.log", path="install.log",
                 bytes=1_200_000, size=2_400_000, lane="tcp", total_bytes=1_200_000, total_size=2_400_000,
                 rate=800_000, eta=1.5)
        app.emit("stats", rtt_ms=12.0, bitrate_kbps=640.0, fps=None, loss=0.0, route=ROUTE)
        await pilot.pause()
        app.action_show_tab("tab-transfers")
        await pilot.pause()
        await pilot.pause()
        await snapshots.check(app, pilot, f"host-transfers-{size[0]}x{size[1]}")
