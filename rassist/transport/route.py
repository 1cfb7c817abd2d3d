"""The path a session took, and why none was found, in words for people and fields for scripts."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # this module stays light: the CLI formats routes without loading aioice
    from rassist.transport.ice import Tuner

_PRIVATE = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
    "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128")]


def is_private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # an mDNS name: aioice already keeps relays away from those
    return any(address in net for net in _PRIVATE)


def describe(local: Any, remote: Any, tuner: Tuner) -> dict[str, str]:
    """Fields of the `route` object: candidate types and addresses, `path` (lan / direct /
    relay), and for a relay `relay` (udp / tcp / tls) and `why`."""
    fields = {"local": local.type, "remote": remote.type,
              "local_address": f"{local.host}:{local.port}",
              "remote_address": f"{remote.host}:{remote.port}",
              "protocol": local.transport.lower()}
    if "relay" in (local.type, remote.type):
        fields["path"] = "relay"
        if local.type == "relay":
            fields["relay"] = tuner.relays.get((local.host, local.port), "udp")
        else:
            fields["relay"] = "peer"  # only the other side relays: its own TURN transport
        fields["why"] = _why(tuner, fields["relay"])
    elif local.type == "host" and remote.type == "host" and _same_lan(local.host, remote.host):
        fields["path"] = "lan"
    else:
        fields["path"] = "direct"
    return fields


def _same_lan(a: str, b: str) -> bool:
    """Both private, or one subnet (/24, /64): no NAT between them."""
    if is_private(a) and is_private(b):
        return True
    try:
        x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    bits = 24 if x.version == 4 else 64
    return x.version == y.version and \
        ipaddress.ip_network(f"{a}/{bits}", strict=False) == ipaddress.ip_network(f"{b}/{bits}", strict=False)


def _why(tuner: Tuner, relay: str) -> str:
    if tuner.relay_only:
        return "relay-only was asked for"
    if relay in ("tcp", "tls"):
        return "UDP is blocked on this network"
    if not tuner.srflx:
        return "no public address over STUN: is UDP to the server blocked?"
    return "no direct path answered: the NATs map ports per destination or block UDP between peers"


def summary(route: dict[str, Any]) -> str:
    """One phrase: 'LAN', 'direct through NAT', 'relayed over TCP (why)'."""
    path = route.get("path")
    if path == "lan":
        return "LAN (direct)"
    if path == "direct":
        return "direct through NAT" if "srflx" in (route.get("local"), route.get("remote")) or \
            "prflx" in (route.get("local"), route.get("remote")) else "direct"
    if path == "relay":
        over = str(route.get("relay", "udp"))
        over = "through the peer's relay" if over == "peer" else f"relayed over {over.upper()}"
        return f"{over} ({route['why']})" if route.get("why") else over
    return f"{route.get('local', '?')}/{route.get('remote', '?')}"


def no_route_message(tuner: Tuner, timed_out: bool, timeout: float) -> str:
    what = f"no peer-to-peer path after {timeout:g} s" if timed_out else "no peer-to-peer path (ICE failed)"
    reasons = list(dict.fromkeys(tuner.failures))
    if not tuner.plan.turn:
        reasons.append("the rendezvous server hands out no TURN relay (rassist server --turn URL "
                       "--turn-secret S), so only direct paths were tried")
    elif not tuner.relays:
        reasons.append("no relay could be allocated")
    else:
        reasons.append("a relay was allocated, but the peer could not be reached through it")
    return f"{what}: {'; '.join(reasons)}. Run `rassist doctor --server URL` on both sides to see what this network allows."
