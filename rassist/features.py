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


class HostFeatures:
    """The host's features as a factory: what the session shares is made once, here; each
    helper gets its own set from participant(). Screen sharing of monitor N (None: the
    primary), remote control of that same monitor, annotations, files, stills.
    `ask` decides a helper's later request for control (the TUI's dialog); without it the
    request is a `control-request` event, answered by {"grant": "control", "to": ID}.

    Shared: the monitor's geometry (found once), the screen's capture and encoder (one
    ScreenSource, media/screen_source.py), the annotation board and its overlay (in `shared`,
    for HostOptions.shared). Per helper: a HostScreen with its own track fed from the shared
    encoder, its own injector (released when that helper goes), its own files."""

    def __init__(self, monitor: int | None, ask: Callable[..., Any] | None = None,
                 download_dir: Path | None = None, fast_lane: bool = True) -> None:
        from rassist.media.inject import Monitor

        self.monitor = monitor
        self.ask = ask
        self.download_dir = download_dir
        self.fast_lane = fast_lane
        self.error: Any = None
        from rassist.media.annotate import SharedBoard

        self.board = SharedBoard()  # every helper's marks on one overlay, each in its colour
        from rassist.media.local_input import LocalInputWatch

        self.local = LocalInputWatch()  # the person at the host wins over every helper's input
        from rassist.media.screen_source import ScreenSource

        # The screen captured and encoded once for every helper; capture starts with the first viewer.
        self.source = ScreenSource(monitor)
        self.shared: list[Feature] = [self.board, self.local, self.source]  # started once, stopped at the end
        shared = self.source.monitor
        if shared is not None:
            self.geometry: Monitor | None = Monitor(shared.left, shared.top, shared.width, shared.height)
        else:
            self.geometry = None  # chat and files still work; the host says so at start (no_display())
            self.error = self.source.error

    def participant(self) -> list[Feature]:
        from rassist.media.annotate import HostAnnotate
        from rassist.media.control import HostControl
        from rassist.media.screen import HostScreen
        from rassist.media.still import HostStill

        screen = HostScreen(self.monitor, source=self.source)  # its own track from the shared encoder
        return [screen, HostControl(self.geometry, ask=self.ask, local=self.local),
                HostAnnotate(self.geometry, shared=self.board), files_feature(self.download_dir, self.fast_lane), HostStill(self.monitor)]


def host_features(monitor: int | None, ask: Callable[..., Any] | None = None,
                  download_dir: Path | None = None, fast_lane: bool = True) -> list[Feature]:
    """One helper's features and the session's shared ones in one list, for a host with one
    helper (no invitations): HostOptions(features=host_features(...))."""
    factory = HostFeatures(monitor, ask, download_dir, fast_lane)
    return [*factory.participant(), *factory.shared]


def no_display(features: list[Feature]) -> str | None:
    """Why the host has no screen to share, known before anyone joins; None if it has one."""
    from rassist.media.screen import HostScreen

    for feature in features:
        if isinstance(feature, HostScreen) and feature.error is not None:
            return feature.error.message
    return None


# What a join needs beyond its first network steps: `rassist join` imports these on a worker
# thread while it pairs (rassist/transport/preload.py). The AEAD first (needed one round trip
# after the server answers), then WebRTC, then what join_features builds. SPAKE2 runs in a
# process of its own (crypto/pake_process.py); where it cannot, "spake2" goes first here.
JOIN_MODULES = ("rassist.crypto.seal", "rassist.transport.peer",
                "rassist.media.screen", "rassist.media.join_control", "rassist.media.join_annotate",
                "rassist.transfer.feature", "rassist.terminal.join")


def join_features(record: Path | None = None, on_frame: Callable[[Any], None] | None = None,
                  download_dir: Path | None = None, fast_lane: bool = True,
                  terminal: Feature | None = None) -> list[Feature]:
    """`terminal` shows a shared shell (terminal.join.JoinTerminal); one is made if None."""
    from rassist.media.join_annotate import JoinAnnotate
    from rassist.media.join_control import JoinControl
    from rassist.media.screen import ViewScreen
    from rassist.terminal.join import JoinTerminal

    return [ViewScreen(record=record, on_frame=on_frame), JoinControl(), JoinAnnotate(),
            files_feature(download_dir, fast_lane), terminal or JoinTerminal()]
