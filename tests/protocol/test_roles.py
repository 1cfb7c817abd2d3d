"""The permission table and the one-controller hand-off (rassist/protocol/roles.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.protocol.roles import CONTROL, Ask, Grant, Revoke, RoleError, Roles


def table(*who: str, passing: bool = False) -> Roles:
    roles = Roles(passing=passing)
    for w in who:
        roles.join(w, {"view"})
    return roles


def test_grant_control_takes_it_from_the_current_controller() -> None:
    roles = table("p1", "p2")
    assert roles.grant("p1", CONTROL) == [Grant("p1", CONTROL)]
    assert roles.grant("p2", CONTROL) == [Revoke("p1", CONTROL, "control went to p2"), Grant("p2", CONTROL)]
    assert roles.controller == "p2"
    assert roles.granted["p1"] == {"view"}


def test_granting_what_is_held_does_nothing() -> None:
    roles = table("p1")
    roles.grant("p1", "files")
    assert roles.grant("p1", "files") == []


def test_join_with_control_while_someone_holds_it_gets_no_control() -> None:
    roles = table("p1")
    roles.grant("p1", CONTROL)
    got, notes = roles.join("p2", {"view", "control", "files"})
    assert got == {"view", "files"}
    assert notes and "p1" in notes[0]
    assert roles.controller == "p1"


def test_join_drops_unknown_permissions_and_refuses_a_second_join() -> None:
    roles = Roles()
    got, _ = roles.join("p1", {"view", "root", "files"})
    assert got == {"view", "files"}
    with pytest.raises(RoleError):
        roles.join("p1", {"view"})


def test_revoke_and_its_refusal() -> None:
    roles = table("p1")
    roles.grant("p1", CONTROL)
    assert roles.revoke("p1", CONTROL) == [Revoke("p1", CONTROL, "revoked by the host")]
    assert roles.controller is None
    with pytest.raises(RoleError, match="does not hold"):
        roles.revoke("p1", CONTROL)


def test_unknown_participant_and_permission_are_refused() -> None:
    roles = table("p1")
    with pytest.raises(RoleError, match="no participant"):
        roles.grant("p9", CONTROL)
    with pytest.raises(RoleError, match="unknown permission"):
        roles.grant("p1", "root")


def test_request_asks_the_host_unless_held() -> None:
    roles = table("p1")
    assert roles.request("p1") == [Ask("p1")]
    roles.grant("p1", CONTROL)
    assert roles.request("p1") == []


def test_passing_needs_the_hosts_leave_and_the_controller() -> None:
    roles = table("p1", "p2", "p3")
    roles.grant("p1", CONTROL)
    with pytest.raises(RoleError, match="does not allow"):
        roles.pass_control("p1", "p2")
    roles.passing = True
    with pytest.raises(RoleError, match="only the helper who holds control"):
        roles.pass_control("p2", "p3")
    assert roles.pass_control("p1", "p2") == [Revoke("p1", CONTROL, "passed to p2"), Grant("p2", CONTROL)]
    assert roles.controller == "p2"
    assert roles.pass_control("p2", "p2") == []
    with pytest.raises(RoleError, match="no participant"):
        roles.pass_control("p2", "p7")
    assert roles.controller == "p2"


def test_controller_leaving_frees_control() -> None:
    roles = table("p1", "p2")
    roles.grant("p1", CONTROL)
    assert roles.leave("p1") is True
    assert roles.controller is None
    assert roles.leave("p2") is False
    assert roles.leave("p2") is False  # twice is harmless
    assert roles.granted == {}


def test_sync_follows_the_features() -> None:
    roles = table("p1")
    roles.grant("p1", CONTROL)
    roles.sync("p1", {"view"})  # the injector could not open: the feature took it back
    assert roles.controller is None
    roles.sync("p9", {"control"})  # not a member: ignored
    assert "p9" not in roles.granted


WHO = st.sampled_from(["p1", "p2", "p3", "p4"])
PERM = st.sampled_from(["view", "control", "files", "annotate", "root"])
OPS = st.lists(st.one_of(
    st.tuples(st.just("join"), WHO, st.sets(PERM)),
    st.tuples(st.just("grant"), WHO, PERM),
    st.tuples(st.just("revoke"), WHO, PERM),
    st.tuples(st.just("request"), WHO),
    st.tuples(st.just("pass"), WHO, WHO),
    st.tuples(st.just("leave"), WHO),
    st.tuples(st.just("passing"), st.booleans()),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_any_sequence_keeps_one_controller_and_matches_its_actions(ops: list[tuple]) -> None:
    roles = Roles()
    for op in ops:
        before = {w: set(p) for w, p in roles.granted.items()}
        try:
            if op[0] == "join":
                got, _ = roles.join(op[1], op[2])
                assert got <= set(op[2])
                actions = []
            elif op[0] == "grant":
                actions = roles.grant(op[1], op[2])
            elif op[0] == "revoke":
                actions = roles.revoke(op[1], op[2])
            elif op[0] == "request":
                actions = roles.request(op[1])
            elif op[0] == "pass":
                actions = roles.pass_control(op[1], op[2])
                assert not actions or roles.passing
            elif op[0] == "leave":
                roles.leave(op[1])
                assert op[1] not in roles.granted
                actions = []
            else:
                roles.passing = op[1]
                actions = []
        except RoleError:
            assert roles.granted == before  # a refusal changes nothing
            continue
        holders = [w for w, p in roles.granted.items() if CONTROL in p]
        assert len(holders) <= 1
        for action in actions:
            if isinstance(action, Grant):
                assert action.permission in roles.granted[action.who]
            elif isinstance(action, Revoke):
                assert action.permission not in roles.granted.get(action.who, set())
        # Every change to the table is announced by an action (a join and a leave excepted).
        if op[0] in ("grant", "revoke", "pass"):
            changed = {(w, p) for w in roles.granted for p in roles.granted[w] ^ before.get(w, set())}
            announced = {(a.who, a.permission) for a in actions if isinstance(a, Grant | Revoke)}
            assert changed == announced


def test_admissible_asks_without_changing_anything() -> None:
    roles = table("p1")
    assert roles.admissible({"view", "control"}) == ({"view", "control"}, [])
    roles.grant("p1", CONTROL)
    got, notes = roles.admissible({"view", "control"})
    assert got == {"view"} and notes
    assert set(roles.granted) == {"p1"}
