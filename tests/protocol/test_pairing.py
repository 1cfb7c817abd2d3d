import pytest

from rassist.protocol.pairing import (
    Decided,
    Declined,
    Failed,
    Pairing,
    PeerHello,
    Sdp,
    Send,
    State,
)


def deliver(actions, to: Pairing) -> list:
    """Feed every Send to the other side; return all non-Send actions produced."""
    out = []
    for a in actions:
        if isinstance(a, Send):
            out += to.receive(a.body)
        else:
            out.append(a)
    return out


def locals_(actions):
    return [a for a in actions if not isinstance(a, Send)]


def handshake(host_code="5-acme-adviser", join_code="5-acme-adviser"):
    host = Pairing("host", host_code, "helpdesk")
    join = Pairing("join", join_code, "alice@box", ("view", "control", "bogus"))
    from_host = host.receive(join.start()[0].body)
    to_host = [a for a in join.receive(from_host[0].body) if isinstance(a, Send)]
    join_local = locals_(join.receive(from_host[1].body))
    host_local = locals_(host.receive(to_host[0].body))
    return host, join, host_local, join_local


def test_happy_path():
    host, join, host_local, join_local = handshake()
    assert host_local == [PeerHello("alice@box", ("view", "control"))]  # unknown wants dropped
    assert join_local == [PeerHello("helpdesk", ())]
    got = deliver(host.decide(("view",)) + host.offer("OFFER"), join)
    assert got == [Decided(("view",)), Sdp("offer", "OFFER")]
    assert deliver(join.answer("ANSWER"), host) == [Sdp("answer", "ANSWER")]
    assert host.state is join.state is State.DONE
    assert host.key == join.key


def test_wrong_code_fails_both_sides():
    host, join, host_local, join_local = handshake(join_code="5-acme-alkali")
    assert isinstance(host_local[-1], Failed) and "wrong code" in host_local[-1].reason
    assert isinstance(join_local[-1], Failed) and "wrong code" in join_local[-1].reason
    assert host.state is join.state is State.FAILED


def test_decline_reaches_the_joiner():
    host, join, _, _ = handshake()
    assert deliver(host.decide(None, "not now"), join) == [Declined("not now")]


def test_tampered_offer_fails_the_joiner_and_its_abort_fails_the_host():
    host, join, _, _ = handshake()
    decision, offer = host.decide(("view",)) + host.offer("OFFER")
    join.receive(decision.body)
    bad = bytearray(offer.body)
    bad[-3] ^= 0x10
    out = join.receive(bytes(bad))
    assert isinstance(out[-1], Failed)
    abort = [a for a in out if isinstance(a, Send)]
    assert len(abort) == 1
    assert isinstance(host.receive(abort[0].body)[-1], Failed)


def test_replayed_message_fails():
    host, join, _, _ = handshake()
    decision, offer = host.decide(("view",)) + host.offer("OFFER")
    join.receive(decision.body)
    assert isinstance(join.receive(decision.body)[-1], Failed)


def test_out_of_order_calls_are_programming_errors():
    host = Pairing("host", "5-acme-adviser", "h")
    with pytest.raises(RuntimeError):
        host.offer("x")
    with pytest.raises(RuntimeError):
        host.answer("x")


def test_garbage_pake_message_fails_cleanly():
    host = Pairing("host", "5-acme-adviser", "h")
    assert isinstance(host.receive(b"\x00garbage")[-1], Failed)
    assert host.state is State.FAILED
    assert isinstance(host.receive(b"more")[-1], Failed)


def test_joiner_cannot_skip_the_decision():
    host, join, _, _ = handshake()
    # A host that sends its offer without a decision is refused.
    host.state = State.AWAIT_OFFER
    out = deliver(host.offer("OFFER"), join)
    assert isinstance(out[-1], Failed)
