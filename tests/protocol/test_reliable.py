"""Reliable control messages across dying links: exactly once, in order, bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.protocol.reliable import Backlog, FrameError, Reliable
from tests.protocol.hostile import json_values


class Net:
    """Two sides and the frames in flight between them on the current link."""

    def __init__(self, **limits: int) -> None:
        self.sides = {"a": Reliable(**limits), "b": Reliable(**limits)}
        self.flight: dict[str, list[dict]] = {"a": [], "b": []}  # frames from that side
        self.sent: dict[str, list[dict]] = {"a": [], "b": []}
        self.got: dict[str, list[dict]] = {"a": [], "b": []}
        self.count = 0

    def send(self, side: str) -> None:
        self.count += 1
        msg = {"t": "chat", "text": f"{side}{self.count}"}
        self.flight[side].append(self.sides[side].send(msg))
        self.sent[side].append(msg)

    def deliver(self, side: str, index: int) -> None:
        """The frame at `index` of what `side` sent arrives (index > 0: reordered)."""
        queue = self.flight[side]
        if not queue:
            return
        frame = queue.pop(index % len(queue))
        other = "b" if side == "a" else "a"
        result = self.sides[other].receive(frame)
        self.got[other].extend(result.delivered)
        if result.reply is not None:
            self.flight[other].append(result.reply)

    def duplicate(self, side: str, index: int) -> None:
        queue = self.flight[side]
        if queue:
            queue.append(dict(queue[index % len(queue)]))

    def cut(self) -> None:
        """The link dies with frames in flight; a new one starts with what is unacknowledged."""
        for side, rel in self.sides.items():
            self.flight[side] = rel.pending() + [rel.ack_frame()]

    def settle(self) -> None:
        for _ in range(20):
            while self.flight["a"] or self.flight["b"]:
                for side in ("a", "b"):
                    self.deliver(side, 0)
            if not any(r.unacked for r in self.sides.values()):
                return
            self.cut()
        raise AssertionError("did not settle")


ops = st.lists(st.one_of(
    st.tuples(st.just("send"), st.sampled_from("ab")),
    st.tuples(st.just("deliver"), st.sampled_from("ab"), st.integers(0, 3)),
    st.tuples(st.just("dup"), st.sampled_from("ab"), st.integers(0, 10)),
    st.tuples(st.just("cut")),
), max_size=120)


@settings(max_examples=400)
@given(ops)
def test_everything_arrives_once_in_order_across_reconnects_duplicates_and_reordering(script):
    net = Net(window=8)
    for op in script:
        if op[0] == "send":
            net.send(op[1])
        elif op[0] == "deliver":
            net.deliver(op[1], op[2])
        elif op[0] == "dup":
            net.duplicate(op[1], op[2])
        else:
            net.cut()
    net.settle()
    assert net.got["b"] == net.sent["a"]
    assert net.got["a"] == net.sent["b"]
    assert net.sides["a"].unacked == net.sides["b"].unacked == 0


def test_a_reconnect_resends_only_what_was_not_acknowledged():
    net = Net()
    for _ in range(3):
        net.send("a")
    net.deliver("a", 0)
    net.deliver("b", 0)  # b's ack of the first
    net.deliver("a", 0)  # the second arrives; its ack is lost with the link
    net.cut()
    assert [f["n"] for f in net.sides["a"].pending()] == [2, 3]
    net.settle()
    assert net.got["b"] == net.sent["a"]
    assert net.sides["b"].duplicates == 1  # the second came twice, was delivered once


def test_the_ack_from_a_resume_answer_trims_the_resend():
    a, b = Reliable(), Reliable()
    frames = [a.send({"t": "chat", "text": str(i)}) for i in range(5)]
    for f in frames[:4]:
        b.receive(f)
    a.on_ack(b.received)  # carried in the sealed resume answer
    assert [f["n"] for f in a.pending()] == [5]


def test_a_peer_that_never_acknowledges_cannot_grow_us():
    a = Reliable(max_unacked=10, max_bytes=10_000)
    for i in range(10):
        a.send({"t": "chat", "text": str(i)})
    with pytest.raises(Backlog):
        a.send({"t": "chat", "text": "one too many"})
    big = Reliable(max_bytes=1000)
    big.send({"t": "chat", "text": "x" * 900})
    with pytest.raises(Backlog):
        big.send({"t": "chat", "text": "x" * 200})
    a.on_ack(10)
    a.send({"t": "chat", "text": "room again"})


def test_frames_far_ahead_are_not_held():
    b = Reliable(window=16, max_bytes=2000)
    for n in range(2, 100):
        b.receive({"t": "rel", "n": n, "a": 0, "m": {"t": "chat", "text": "x" * 50}})
    assert len(b._ahead) <= 15 and b._ahead_bytes <= 2000
    assert b.dropped_ahead > 0
    got = b.receive({"t": "rel", "n": 1, "a": 0, "m": {"t": "chat", "text": "first"}})
    assert [m["text"] for m in got.delivered][:1] == ["first"]
    assert len(got.delivered) == b.received == 16  # 1, then the 15 held; the rest come again


def test_an_ack_for_what_was_never_sent_is_a_protocol_error():
    a = Reliable()
    a.send({"t": "chat"})
    with pytest.raises(FrameError):
        a.receive({"t": "ack", "a": 2})
    with pytest.raises(FrameError):
        a.receive({"t": "rel", "n": 1, "a": 5, "m": {}})


@settings(max_examples=400)
@given(json_values)
def test_hostile_frames_raise_frame_error_or_are_handled(frame):
    r = Reliable()
    r.send({"t": "chat"})
    try:
        out = r.receive(frame)
    except FrameError:
        return
    assert isinstance(frame, dict) and frame["t"] in ("rel", "ack")
    assert all(isinstance(m, dict) for m in out.delivered)
    assert r.received <= 1


@given(st.dictionaries(st.sampled_from(["t", "n", "a", "m"]), json_values, max_size=4))
def test_mutated_frames_never_escape_as_other_errors(overrides):
    r = Reliable()
    r.send({"t": "chat"})
    frame = {"t": "rel", "n": 1, "a": 0, "m": {"t": "chat"}, **overrides}
    try:
        r.receive(frame)
    except FrameError:
        pass
