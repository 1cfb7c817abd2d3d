#!/usr/bin/env python3
"""Join start -> connected, per network topology, in namespaces (needs root and coturn).

Topologies from tests/nat.py: a flat LAN (the reference), two home NATs with the rendezvous
server alone and with coturn, port-dependent NATs, UDP only to TURN, no UDP at all, one peer
public. Prints the median over --runs and the route taken, with the target beside each:
direct paths within 150 ms of the flat-LAN figure, relay fallback within 3 s. The joiner's
"ICE start -> open" (first connectivity check to the data channel open, `route.ice_ms`) is
printed too: unlike the total, it hardly depends on process start-up and machine load."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.nat import coturn, internet  # noqa: E402
from tests.netns import lan  # noqa: E402
from tests.procs import Proc, rendezvous_server  # noqa: E402

TOPOLOGIES = {
    "flat LAN": None,
    "a: home NATs, rendezvous only": ({}, False),
    "b: home NATs + coturn": ({}, True),
    "c: port-dependent NATs + coturn": ({"answers": True}, True),
    "d: UDP only to TURN": ({"udp": "turn-only"}, True),
    "e: no UDP at all": ({"udp": "none"}, True),
    "f: one peer public": ({"public_peer": "b"}, True),
}


def one_run(host_cmd: list[str], join_cmd: list[str], url: str) -> tuple[float, dict]:
    host = Proc([*host_cmd, "host", "--json", "--yes", "--once", "--server", url], raw=True)
    code = host.wait_event("code")["code"]
    host.wait_event("waiting")
    start = time.perf_counter()
    join = Proc([*join_cmd, "join", code, "--json", "--server", url], raw=True)
    route = join.wait_event("connected", timeout=30)["route"]
    took = time.perf_counter() - start
    join.send({"quit": True})
    join.wait_exit()
    host.wait_exit()
    return took, route


def describe(route: dict) -> str:
    how = route.get("path", "?")
    if how == "relay":
        how += f" over {route.get('relay', '?')}"
    return f"{how} ({route.get('local')}/{route.get('remote')})"


def measure(name: str, runs: int) -> tuple[list[float], list[str], list[int]]:
    python = [sys.executable, "-m", "rassist"]
    with ExitStack() as stack:
        if TOPOLOGIES[name] is None:
            net = stack.enter_context(lan())
            url = stack.enter_context(rendezvous_server(host=net.a_addr, prefix=tuple(net.prefix(net.a))))
            host_cmd, join_cmd = [*net.prefix(net.a), *python], [*net.prefix(net.b), *python]
        else:
            options, with_turn = TOPOLOGIES[name]
            net = stack.enter_context(internet(**options))
            args: list[str] = []
            if with_turn:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                stack.enter_context(coturn(net, "bench", tmp))
                args = ["--turn", f"turn:{net.server_addr}:3478", "--turn",
                        f"turn:{net.server_addr}:3478?transport=tcp", "--turn-secret", "bench"]
            url = stack.enter_context(rendezvous_server(*args, host=net.server_addr,
                                                        prefix=tuple(net.prefix(net.pub))))
            host_cmd, join_cmd = net.rassist("a"), net.rassist("b")
        one_run(host_cmd, join_cmd, url)  # warm the page cache
        results = [one_run(host_cmd, join_cmd, url) for _ in range(runs)]
    ice = [r[1]["ice_ms"] for r in results if isinstance(r[1].get("ice_ms"), int)]
    return [r[0] * 1000 for r in results], [describe(r[1]) for r in results], ice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", action="append", help="run only topologies whose name starts with this")
    args = parser.parse_args()
    flat = None
    print(f"runs per topology: {args.runs} (median join start -> connected)")
    for name in TOPOLOGIES:
        if args.only and name != "flat LAN" and not any(name.startswith(o) for o in args.only):
            continue
        times, routes, ice = measure(name, args.runs)
        median = statistics.median(times)
        routes_seen = ", ".join(sorted(set(routes)))
        if flat is None:
            flat = median
            target = "reference"
        elif any(r.startswith("relay") for r in routes):
            target = f"target relay <= 3000 ms: {'ok' if median <= 3000 else 'MISSED'}"
        else:
            target = (f"target <= flat LAN + 150 = {flat + 150:.0f} ms: "
                      f"{'ok' if median <= flat + 150 else 'MISSED'}")
        ice_part = f"{statistics.median(ice):5.0f}" if ice else "    ?"
        print(f"{name:34s} median {median:6.0f} ms  min {min(times):5.0f}  max {max(times):5.0f}  "
              f"ICE start -> open {ice_part} ms  route {routes_seen}  [{target}]", flush=True)


if __name__ == "__main__":
    main()
