#!/usr/bin/env python3
"""`rassist snapshot CODE -o x.png`: from the command's start to a sharp PNG on disk.

A 1920x1080 Xvfb shows a screen of small coloured text; a host (--yes, started earlier)
shares it through a local rendezvous server; each run starts `rassist snapshot` and waits for
it to exit. Prints the median time and the median PSNR of the PNG against the painted screen,
with their targets (<= 1.0 s; >= 38 dB). The snapshot runs in the layout users get (a wheel
installed into a venv of its own, as scripts/install.sh; scripts/bench_layout.py) unless
--layout editable."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import bench_layout  # noqa: E402  (beside this script)

TARGET_SECONDS = 1.0
TARGET_DB = 38.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--layout", choices=bench_layout.LAYOUTS, default="installed",
                        help="which rassist takes the snapshot (the installed one is what users run)")
    parser.add_argument("--installed-venv", type=Path, default=bench_layout.INSTALLED_VENV)
    args = parser.parse_args()
    installed = bench_layout.install(args.installed_venv) if args.layout == "installed" else None
    rassist = bench_layout.command(args.layout, installed)
    import numpy as np
    from PIL import Image

    from tests.media.conftest import Painter, psnr, text_screen
    from tests.procs import Proc, rendezvous_server
    from tests.xvfb import xvfb

    print(f"runs: {args.runs}, cpus: {os.cpu_count()}, load (1 min): {os.getloadavg()[0]:.2f}")
    print(f"layout: {bench_layout.describe(args.layout, installed)}")
    with xvfb(1920, 1080) as display, tempfile.TemporaryDirectory() as tmp:
        os.environ["DISPLAY"] = display
        picture = text_screen(seed=7)
        painter = Painter(display)
        painter.put(picture)
        times, scores = [], []
        with rendezvous_server() as url:
            for run in range(args.runs + 1):  # the first warms the page cache
                host = Proc(["host", "--json", "--yes", "--once", "--server", url])
                code = host.wait_event("code")["code"]
                host.wait_event("waiting")
                time.sleep(0.5)  # the host has settled: only the snapshot is timed
                out = Path(tmp) / f"shot{run}.png"
                start = time.perf_counter()
                snap = Proc([*rassist, "snapshot", code, "-o", str(out), "--server", url], raw=True,
                            env=bench_layout.env(args.layout))
                rc = snap.wait_exit(60)
                took = time.perf_counter() - start
                host.wait_exit(30)
                if rc != 0:
                    raise RuntimeError(f"snapshot failed ({rc}): {''.join(snap.stderr_lines)[-800:]}")
                got = np.asarray(Image.open(out).convert("RGB"))
                if run:
                    times.append(took)
                    scores.append(psnr(got, picture))
        painter.close()
    seconds, db = statistics.median(times), statistics.median(scores)
    print(f"snapshot start -> PNG written: median {seconds:.2f} s (min {min(times):.2f}, max "
          f"{max(times):.2f})   target <= {TARGET_SECONDS} s: {'met' if seconds <= TARGET_SECONDS else 'NOT met'}")
    print(f"PNG against the screen:        median {db:.1f} dB (min {min(scores):.1f})   "
          f"target >= {TARGET_DB} dB: {'met' if db >= TARGET_DB else 'NOT met'}")
    print(f"load (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
