"""Recording received frames: the files open with PyAV and hold the frames."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from rassist.errors import UsageError
from rassist.media.record import Recorder


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".webm"])
def test_recording_plays_back(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"session{suffix}"
    recorder = Recorder(path)
    for i in range(12):
        rgb = np.zeros((120, 161, 3), np.uint8)  # odd width: recorded at an even one
        rgb[:, : (i + 1) * 10] = (250, 250, 250)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p")
        recorder.feed(frame, at=100.0 + i * 0.05)
    recorder.close()
    assert recorder.frames_written == 12
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == 12
    assert frames[0].shape == (120, 160, 3)
    # The last frame is white up to column 120, black after it.
    assert frames[-1][60, 60].mean() > 200 and frames[-1][60, 140].mean() < 50


def test_unknown_suffix_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="mkv, .mp4 or .webm"):
        Recorder(tmp_path / "x.avi")
