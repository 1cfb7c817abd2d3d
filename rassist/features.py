"""Which features a host or a joiner runs, built in one place for the CLI and the TUI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rassist.session import Feature


def files_feature(download_dir: Path | None, fast_lane: bool) -> Feature:
    """Offering and receiving files inside a session. The fast lane (a direct TLS connection)
    shows our interface addresses to the peer, so --relay-only callers pass fast_lane=False."""
    from rassist.transfer.feature import FilesFeature

    return FilesFeature(download_dir, fast_lane=fast_lane)


def host_features(monitor: int | None, ask: Callable[..., Any] | None = None,
                  download_dir: Path | None = None, fast_lane: bool = True) -> list[Feature]:
    """Screen sharing of monitor N (None: the primary), remote control of that same monitor, files.
    `ask` decides a joiner's later request for control (the TUI's dialog); without it the request
    is a `control-request` event, answered by {"grant": "control"}."""
    from rassist.media.capture import NoDisplayError, pick_monitor
    from rassist.media.control import HostControl
    from rassist.media.inject import Monitor
    from rassist.media.screen import HostScreen

    screen = HostScreen(monitor)
    try:
        shared = pick_monitor(monitor)
        geometry: Monitor | None = Monitor(shared.left, shared.top, shared.width, shared.height)
    except NoDisplayError as exc:
        geometry = None  # chat and files still work; the host says so at start (no_display())
        screen.error = exc
    from rassist.media.annotate import HostAnnotate
    from rassist.media.local_input import LocalInputWatch
    from rassist.media.still import HostStill

    # One LocalInputWatch per host session, shared by every HostControl: the person at the host wins.
    return [screen, HostControl(geometry, ask=ask, local=LocalInputWatch()), HostAnnotate(geometry),
            files_feature(download_dir, fast_lane), HostStill(monitor)]


def no_display(features: list[Feature]) -> str | None:
    """Why the host has no screen to share, known before anyone joins; None if it has one."""
    from rassist.media.screen import HostScreen

    for feature in features:
        if isinstance(feature, HostScreen) and feature.error is not None:
            return feature.error.message
    return None


# What a join needs beyond its first network steps: `rassist join` imports these on a worker
# thread while it pairs (rassist/transport/preload.py). SPAKE2 first (needed one round trip
# after the server answers), then WebRTC, then what join_features builds.
JOIN_MODULES = ("rassist.crypto.pake", "rassist.crypto.seal", "rassist.transport.peer",
                "rassist.media.screen", "rassist.media.control", "rassist.media.annotate",
                "rassist.transfer.feature", "rassist.terminal.join")


def join_features(record: Path | None = None, on_frame: Callable[[Any], None] | None = None,
                  download_dir: Path | None = None, fast_lane: bool = True,
                  terminal: Feature | None = None) -> list[Feature]:
    """`terminal` shows a shared shell (terminal.join.JoinTerminal); one is made if None."""
    from rassist.media.annotate import JoinAnnotate
    from rassist.media.control import JoinControl
    from rassist.media.screen import ViewScreen
    from rassist.terminal.join import JoinTerminal

    return [ViewScreen(record=record, on_frame=on_frame), JoinControl(), JoinAnnotate(),
            files_feature(download_dir, fast_lane), terminal or JoinTerminal()]
