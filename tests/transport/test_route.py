"""Route descriptions, the no-route message, and parsing server lists that may be hostile."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.transport import ice, route


def cand(kind: str, host: str, port: int = 5000) -> SimpleNamespace:
    return SimpleNamespace(type=kind, host=host, port=port, transport="udp")


def tuner(**kw) -> ice.Tuner:
    t = ice.Tuner(ice.plan([{"urls": ["turn:t.example:3478"], "username": "u", "credential": "p"}]), False)
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def test_paths():
    t = tuner(srflx=True)
    assert route.describe(cand("host", "192.168.1.2"), cand("host", "192.168.1.3"), t)["path"] == "lan"
    assert route.describe(cand("host", "198.18.0.1"), cand("host", "198.18.0.2"), t)["path"] == "lan"
    assert route.describe(cand("host", "10.0.1.2"), cand("host", "198.19.0.22"), t)["path"] == "direct"
    assert route.describe(cand("host", "10.0.1.2"), cand("srflx", "198.19.0.12"), t)["path"] == "direct"
    t.relays[("198.19.0.1", 6000)] = "tcp"
    relayed = route.describe(cand("relay", "198.19.0.1", 6000), cand("relay", "198.19.0.1", 7000), t)
    assert (relayed["path"], relayed["relay"], relayed["why"]) == ("relay", "tcp", "UDP is blocked on this network")
    assert route.summary(relayed) == "relayed over TCP (UDP is blocked on this network)"
    theirs = route.describe(cand("host", "10.0.2.2"), cand("relay", "198.19.0.1"), t)
    assert theirs["relay"] == "peer" and route.summary(theirs).startswith("through the peer's relay")
    assert route.summary({"path": "direct", "local": "host", "remote": "srflx"}) == "direct through NAT"
    assert route.summary({"local": "unknown", "remote": "unknown"}) == "unknown/unknown"


def test_no_route_message_names_the_cause_and_doctor():
    t = tuner(failures=["TURN turn:t.example:3478 refused the credentials (401: ...)"])
    text = route.no_route_message(t, timed_out=True, timeout=10)
    assert "401" in text and "no relay could be allocated" in text and "rassist doctor" in text
    bare = ice.Tuner(ice.plan([]), False)
    assert "hands out no TURN relay" in route.no_route_message(bare, timed_out=False, timeout=10)


def test_plan_takes_one_stun_and_every_turn_transport():
    p = ice.plan([{"urls": ["stun:s.example:4477", "stun:s.example:4478"]},
                  {"urls": ["turn:t:3478", "turn:t:3478?transport=tcp", "turns:t:443?transport=tcp",
                            "turn:t:3478?transport=sctp", "http://x", 7], "username": "u", "credential": "p"},
                  {"urls": ["turn:nocreds:3478"]}])
    assert p.stun == ("s.example", 4477)
    assert [(s.host, s.port, s.transport) for s in p.turn] == [("t", 3478, "udp"), ("t", 3478, "tcp"), ("t", 443, "tls")]


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
urls = st.sampled_from(["turn:", "turns:", "stun:", "turn:h:", "turn:h:99999", "stun:h:0", ""]).flatmap(
    lambda head: st.text(max_size=30).map(lambda tail: head + tail))


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={"urls": scalars | st.lists(urls | scalars, max_size=4),
                                                    "username": scalars, "credential": scalars}), max_size=4))
def test_plan_never_raises_on_hostile_lists(servers):
    p = ice.plan(servers)
    assert all(0 < s.port < 65536 and s.transport in ("udp", "tcp", "tls") for s in p.turn)


def test_status_bar_labels():
    from rassist.tui.text import route_label

    assert route_label({"path": "relay", "relay": "tcp", "local": "relay", "remote": "relay"}) == "relay TCP"
    assert route_label({"path": "relay", "relay": "peer", "local": "host", "remote": "relay"}) == "TURN relay"
    assert route_label({"path": "lan", "local": "host", "remote": "host"}) == "LAN"
    assert route_label({"path": "direct", "local": "host", "remote": "srflx"}) == "NAT"
    assert route_label({"path": "direct", "local": "host", "remote": "host"}) == "direct"
    assert route_label({"local": "host", "remote": "host"}) == "LAN"  # older peers: no path field
