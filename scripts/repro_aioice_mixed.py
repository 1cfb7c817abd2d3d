#!/usr/bin/env python3
"""Minimal reproduction, plain aioice 0.13 + coturn 4.6, no rassist code, of why ICE with
host + srflx + relay candidates failed where relay-only worked. Needs root (namespaces from
tests/nat.py) and coturn.

Topology: two peers behind NATs that let UDP out only to coturn's port (so the STUN server,
UDP 4477 on the same machine, is unreachable); coturn as packaged (no denied-peer-ip); the
controlling side starts its checks 0.3 s after the controlled side, as after a signalling trip.

Observed here (3 runs each, 2026-11-29):
- all candidates, server without a default route: both sides time out after 20 s; each also
  waits 5.0 s in gather_candidates() for the unreachable STUN server;
- all candidates, server with a default route (--default-route): the controlling side
  connects relay/relay, the controlled side times out after 20 s;
- relay only: the controlling side connects at once, the controlled side times out after 20 s
  when the start is staggered (with simultaneous starts both connect).
aioice re-sends no check for a pair already in progress when the peer's check arrives
(RFC 8445 7.3.1.4, triggered checks), so the side that started first depends on its
exponential retransmissions; coturn drops its first checks because the other side's
permission does not exist yet. rassist works around these in rassist/transport/ice.py.

Usage: scripts/repro_aioice_mixed.py [--default-route]"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def peer(args: argparse.Namespace) -> None:
    """One side, run inside its namespace: gather, print, read the other side, connect."""
    from aioice import Candidate, Connection, TransportPolicy

    conn = Connection(ice_controlling=args.role == "controlling", stun_server=(args.server, args.stun_port),
                      turn_server=(args.server, 3478), turn_username=args.user, turn_password=args.password,
                      transport_policy=TransportPolicy.RELAY if args.relay_only else TransportPolicy.ALL)
    started = time.monotonic()
    await conn.gather_candidates()
    gathered = time.monotonic() - started
    print(json.dumps({"ufrag": conn.local_username, "pwd": conn.local_password,
                      "candidates": [c.to_sdp() for c in conn.local_candidates]}), flush=True)
    other = json.loads(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    conn.remote_username, conn.remote_password = other["ufrag"], other["pwd"]
    for sdp in other["candidates"]:
        await conn.add_remote_candidate(Candidate.from_sdp(sdp))
    await conn.add_remote_candidate(None)
    if args.role == "controlling":
        await asyncio.sleep(0.3)  # the offerer hears the answer one signalling trip after the answerer starts
    started = time.monotonic()
    try:
        await asyncio.wait_for(conn.connect(), 20)
        pair = conn._nominated[1]
        result = f"connected {pair.local_candidate.type}/{pair.remote_candidate.type}"
    except (asyncio.TimeoutError, ConnectionError) as exc:
        result = f"FAILED ({type(exc).__name__ or exc})"
    print(json.dumps({"result": result, "gathering_s": round(gathered, 2),
                      "connect_s": round(time.monotonic() - started, 2)}), flush=True)
    await conn.close()


def run_pair(net, user: str, password: str, relay_only: bool) -> list[str]:
    procs = []
    for who, role in (("a", "controlling"), ("b", "controlled")):
        cmd = [*net.prefix(net.peers[who]), sys.executable, __file__, "--peer", role, "--server", net.server_addr,
               "--stun-port", "4477", "--user", user, "--password", password] + (["--relay-only"] if relay_only else [])
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    offers = [p.stdout.readline() for p in procs]
    procs[0].stdin.write(offers[1])
    procs[1].stdin.write(offers[0])
    for p in procs:
        p.stdin.flush()
    return [p.stdout.readline().strip() for p in procs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer")
    parser.add_argument("--server")
    parser.add_argument("--stun-port", type=int)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--relay-only", action="store_true")
    parser.add_argument("--default-route", action="store_true", help="give the server machine a default route")
    args = parser.parse_args()
    if args.peer:
        args.role = args.peer
        asyncio.run(peer(args))
        return
    from rassist.rendezvous.turn import TurnConfig
    from tests import nat

    # coturn as packaged: no denied-peer-ip ranges (tests/nat.py adds them, as the README advises).
    plain = nat.coturn_args
    nat.coturn_args = lambda *a, **k: [x for x in plain(*a, **k) if not x.startswith("--denied-peer-ip")]
    with nat.internet(udp="turn-only", server_default_route=args.default_route) as net, \
            tempfile.TemporaryDirectory() as tmp, nat.coturn(net, "repro", Path(tmp)):
        creds = TurnConfig((), "repro").credentials(time.time())
        for relay_only in (False, True):
            results = run_pair(net, str(creds["username"]), str(creds["credential"]), relay_only)
            print(f"{'relay only' if relay_only else 'all candidates':15s} {results}")


if __name__ == "__main__":
    main()
