"""The joiner's screen pane against a real host sharing and injecting into Xvfb: the picture
arrives, control mode sends keys and the pointer to the host's X server, F12 gives the keys back,
and the host revoking control ends control mode.

The host runs in-process (the same features `rassist host` uses) so the test can revoke control."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rassist.features import host_features, join_features
from rassist.pairing import Host, HostOptions, JoinOptions
from rassist.session import Session
from rassist.tui.dialogs import ARM_SECONDS, ApproveDialog, ConfirmDialog
from rassist.tui.hooks import TuiHooks
from rassist.tui.host_app import HostApp
from rassist.tui.join_app import JoinApp
from tests.procs import Proc
from tests.tui.pilot import event, shown, until

pytestmark = [pytest.mark.display,
              pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")]


class InProcessHost:
    """A host approving view and control, its events kept for the test."""

    def __init__(self, server: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.session: Session | None = None
        self.host = Host(HostOptions(name="desk", server=server, features=host_features(None)),
                         self._emit, self._approve)
        self._task: asyncio.Task[None] | None = None

    def _emit(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})

    async def _approve(self, hello: Any) -> tuple[str, ...]:
        return hello.wants

    async def _run(self) -> None:
        self.session = await self.host.run()
        await self.session.start()
        await self.session.run()

    async def code(self) -> str:
        self._task = asyncio.ensure_future(self._run())
        for _ in range(200):
            codes = [e["code"] for e in self.events if e["event"] == "code"]
            if codes:
                return codes[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"the host gave no code: {self.events}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


@contextlib.asynccontextmanager
async def in_process_host(server: str) -> AsyncIterator[InProcessHost]:
    host = InProcessHost(server)
    try:
        yield host
    finally:
        await host.stop()


async def test_control_mode_drives_the_hosts_x_server(server, display_env, keylog, xserver):
    async with in_process_host(server) as host:
        code = await host.code()
        hooks = TuiHooks()
        opts = JoinOptions(name="bob", server=server, wants=("view", "control"),
                           features=join_features(None, hooks.on_frame))
        app = JoinApp(code, opts, hooks)
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.screen_pane
            await until(pilot, lambda: app.control == "granted", "control to be granted")
            assert pane.border_subtitle == "control granted · F2 to take control"
            await until(pilot, lambda: pane.has_class("-picture"), "the host's screen in the pane")
            assert hooks.frames > 0 and pane.fit is not None

            await pilot.press("f2")
            assert pane.controlling and app.status_bar.fields["state"] == "controlling"
            assert "CONTROLLING" in pane.border_subtitle
            await pilot.press("q")  # a letter the app would otherwise not ignore: it goes to the host
            got = await asyncio.to_thread(keylog.until, lambda e: e["type"] == "KeyRelease")
            assert [(e["type"], e["key"]) for e in got if e["type"].startswith("Key")] == [
                ("KeyPress", "q"), ("KeyRelease", "q")]
            await pilot.press("tab")  # not the TUI's focus key while controlling
            got = await asyncio.to_thread(keylog.until, lambda e: e["type"] == "KeyRelease")
            assert [(e["type"], e["key"]) for e in got if e["type"].startswith("Key")] == [
                ("KeyPress", "Tab"), ("KeyRelease", "Tab")]
            assert app.focused is pane

            # A click in the middle of the pane lands in the middle of the host's screen.
            region = pane.content_region
            middle = (region.x - pane.region.x + region.width // 2, region.y - pane.region.y + region.height // 2)
            await pilot.click(pane, offset=middle)
            await asyncio.to_thread(keylog.until, lambda e: e["type"] == "ButtonRelease")
            x, y, _ = xserver.pointer()
            cell_w = 1920 * pane.fit.canvas_w / region.width / pane.fit.w  # one cell, in host pixels
            cell_h = 1080 * pane.fit.canvas_h / region.height / pane.fit.h
            assert abs(x - 960) <= cell_w and abs(y - 540) <= cell_h, (x, y)

            await pilot.press("f12")
            assert not pane.controlling and app.focused is app.query_one("#chat-input")
            await pilot.press("z")
            assert app.query_one("#chat-input").value == "z"  # typed here, not on the host

            assert host.session is not None
            await host.session.handle_command({"revoke": "control"})
            await until(pilot, lambda: app.control == "not granted", "control to be revoked")
            assert pane.border_subtitle == "view only"
            await pilot.press("f2")  # asks again rather than entering control mode
            await until(pilot, lambda: any(e["event"] == "control-request" for e in host.events),
                        "the host to hear the request")
            assert not pane.controlling

            await pilot.press("ctrl+q")
            await until(pilot, lambda: app.return_code is not None, "the app to exit")
        assert app.return_code == 0


@pytest.mark.parametrize("wired", [True, False], ids=["ask-through-hooks", "control-request-event"])
async def test_the_host_grants_a_later_request_and_revokes_with_f2(server, display_env, wired):
    hooks = TuiHooks()
    features = host_features(None, ask=hooks.ask_control if wired else None)
    app = HostApp(HostOptions(name="desk", server=server, features=features), hooks)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.panel.info.get("code"), "a code")
        join = Proc(["join", app.panel.info["code"], "--json", "--server", server, "--name", "bob"])
        await until(pilot, lambda: isinstance(app.screen, ApproveDialog), "the approval dialog")
        await pilot.pause(ARM_SECONDS)  # a question takes no yes in its first moments
        await pilot.press("y")
        assert (await event(join, "connected"))["granted"] == ["view"]
        await until(pilot, lambda: app.query_one("#toggle-control").display, "the control switch")
        assert "Screen: shared (monitor 1, 1920x1080)" in shown(app.query_one("#host-peer"))
        join.send({"request": "control"})
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the control question")
        await until(pilot, lambda: "bob asks for control" in shown(app.query_one("#host-pending")),
                    "the pending request in the panel")  # laid out after the dialog, on a busy machine
        await pilot.pause(ARM_SECONDS)
        await pilot.press("y")
        assert (await event(join, "control", state="granted"))["peer"] == "desk"
        await until(pilot, lambda: app.control == "granted", "control granted on the host")
        assert "Revoke control" in str(app.query_one("#toggle-control").label)
        await pilot.press("f2")
        await event(join, "control", state="revoked")
        await until(pilot, lambda: app.control == "not granted", "control revoked on the host")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert join.wait_exit() == 0


def red_pixels() -> int:
    """How many pixels of the host's X screen are the first helper's colour."""
    import mss
    import numpy as np

    with mss.MSS() as grab:
        shot = np.asarray(grab.grab(grab.monitors[1]))  # BGRA
    return int(np.count_nonzero((shot[..., 2] > 200) & (shot[..., 1] < 120) & (shot[..., 0] < 120)))


async def test_annotate_mode_points_and_draws_on_the_host_screen(server, display_env, keylog):
    async with in_process_host(server) as host:
        code = await host.code()
        hooks = TuiHooks()
        opts = JoinOptions(name="bob", server=server, features=join_features(None, hooks.on_frame))
        app = JoinApp(code, opts, hooks)
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.screen_pane
            await until(pilot, lambda: pane.has_class("-picture"), "the host's screen in the pane")
            await until(pilot, lambda: app.session is not None and "annotate" in app.session.granted,
                        "annotate to be granted")
            assert red_pixels() == 0
            await pilot.press("f5")
            assert pane.annotating and "POINTING" in pane.border_subtitle
            region = pane.content_region
            x0, y0 = region.x - pane.region.x, region.y - pane.region.y
            # A still pointer fades within 1.5 s (annotate.TRAIL_SECONDS): keep it moving, as a
            # hand does, or a slow machine may look only after it went.
            mid, wiggle = (x0 + region.width // 2, y0 + region.height // 2), 0
            deadline = asyncio.get_running_loop().time() + 20
            while red_pixels() == 0:
                assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the pointer on the host's screen"
                wiggle = 1 - wiggle
                await pilot.hover(pane, offset=(mid[0] + wiggle, mid[1]))
                await pilot.pause(0.1)
            await pilot.mouse_down(pane, offset=(x0 + 5, y0 + 5))
            for step in range(1, 6):
                await pilot.hover(pane, offset=(x0 + 5 + 4 * step, y0 + 5 + step))
            await pilot.mouse_up(pane, offset=(x0 + 25, y0 + 10))
            await until(pilot, lambda: any(e["event"] == "mark" and e.get("kind") == "draw" for e in host.events),
                        "the host to get the stroke")
            await pilot.press("f5")
            assert not pane.annotating
            await pilot.press("ctrl+q")
            await until(pilot, lambda: app.return_code is not None, "the app to exit")


async def test_the_host_clears_every_mark_with_f6(server, display_env, keylog):
    hooks = TuiHooks()
    app = HostApp(HostOptions(name="desk", server=server, features=host_features(None)), hooks, auto=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.panel.info.get("code"), "a code")
        join = Proc(["join", app.panel.info["code"], "--json", "--server", server, "--name", "bob"])
        await event(join, "annotate", state="granted")
        join.send({"draw": [[0.2, 0.5], [0.8, 0.5]], "pin": True})
        await until(pilot, lambda: red_pixels() > 0, "the stroke on the screen")
        await pilot.press("f6")
        await until(pilot, lambda: red_pixels() == 0, "the marks to be cleared")
        join.send({"quit": True})
        await until(pilot, lambda: app.return_code is not None or app.ended, "the session to end")
