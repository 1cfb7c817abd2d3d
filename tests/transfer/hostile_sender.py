"""A malicious `rassist send`, for the end-to-end tests: pairs like the real one (same code,
same SPAKE2 and sealed signalling), then offers a manifest with names it should not send.

    python -m tests.transfer.hostile_sender --server URL --file PATH [--deep N] NAME...

It prints JSON events on stdout like `rassist send --json` (first the code). The offer only
names innocent top-level entries; the hostile names sit deeper, in the manifest. With --deep N
the manifest also carries a field nested N levels deep."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from rassist.pairing import Host, HostOptions
from rassist.protocol.transfer_manifest import Entry, Manifest
from rassist.transfer.feature import FilesFeature
from rassist.transfer.scan import Scan


class DeepManifest(Manifest):
    """A manifest whose JSON carries an extra field nested `depth` levels deep."""

    depth = 0

    def encode(self) -> bytes:
        body = super().encode()
        return body[:-1] + b',"x":' + b"[" * self.depth + b"]" * self.depth + b"}"


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--deep", type=int, default=0)
    parser.add_argument("names", nargs="+")
    args = parser.parse_args()
    size = args.file.stat().st_size
    # Built without make_manifest(): no checks on this side, as a hostile peer would.
    entries = [Entry("innocent", "dir")] + [Entry(name, "file", size) for name in args.names]
    DeepManifest.depth = args.deep
    scan = Scan((DeepManifest if args.deep else Manifest)(tuple(entries)), {i: args.file for i in range(1, len(entries))})
    feature = FilesFeature(fast_lane=True)

    async def approve(hello: Any) -> tuple[str, ...]:
        return ("files",)

    opts = HostOptions(name="mallory", server=args.server, timeout=10, features=[feature])
    session = await Host(opts, emit, approve).run()
    await session.start()
    ended = asyncio.ensure_future(session.run())
    try:
        await feature.offer_scan(scan)
    except Exception as exc:  # noqa: BLE001 - the receiver is expected to refuse
        emit("refused", message=str(exc))
    await session.close("done")
    await asyncio.gather(ended, return_exceptions=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
