"""The screen over a thin, lossy link between two network namespaces: 2 Mbit/s with a 100 ms
router queue (tbf) and 2% random loss each way (iptables), host and viewer in separate processes
(the benchmark's harness, scripts/bench_video.py, in its one-screen mode).

Counts, not timings: the deadline is generous (the machine may be busy); the figures themselves
are the benchmark's job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netns import lan, unavailable_reason
from tests.netshape import shaped

pytestmark = [pytest.mark.display, pytest.mark.netns]

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # s for a full screen of text to become readable


def test_text_becomes_readable_and_keyframes_stay_rate_limited(display_env: str) -> None:
    if reason := unavailable_reason():
        pytest.skip(reason=reason)
    with lan() as net, shaped(net, rate_kbit=2000, queue_ms=100, loss=0.02):
        env = dict(os.environ, DISPLAY=display_env, PYTHONPATH=str(ROOT))
        proc = subprocess.run([*net.prefix(net.b), sys.executable, str(ROOT / "scripts" / "bench_video.py"),
                               "--role", "run", "--quick", "--deadline", str(DEADLINE),
                               "--host-prefix", json.dumps(net.prefix(net.a))],
                              env=env, capture_output=True, text=True, timeout=DEADLINE * 4)
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    # The warm-up screen and the changed one both became readable (>= 38 dB) through the loss.
    assert result["readable_all"] == 1.0, result
    # Loss makes the viewer ask for keyframes; they go out at most one a second.
    assert result["keyframes_max_1s"] <= 1, result
    assert result["keyframes_per_s"] <= 1, result
