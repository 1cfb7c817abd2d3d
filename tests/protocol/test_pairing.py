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


# ---------------------------------------------------------------- the direct phase (send/receive)

def direct_handshake():
    host = Pairing("host", "5-acme-adviser", "sender")
    join = Pairing("join", "5-acme-adviser", "receiver", ("files",), direct=True)
    from_host = host.receive(join.start()[0].body)
    to_host = [a for a in join.receive(from_host[0].body) if isinstance(a, Send)]
    join.receive(from_host[1].body)
    (hello,) = locals_(host.receive(to_host[0].body))
    return host, join, hello


def test_direct_then_done():
    from rassist.protocol.pairing import Direct

    host, join, hello = direct_handshake()
    assert hello == PeerHello("receiver", ("files",), True)
    got = deliver(host.decide(("files",)) + host.direct({"offer": {"id": "x"}}), join)
    assert got == [Decided(("files",)), Direct({"offer": {"id": "x"}})]
    assert deliver(join.direct({"accept": {"cert": "c"}}), host) == [Direct({"accept": {"cert": "c"}})]
    assert host.state is join.state is State.DIRECT


def test_direct_fallback_leads_to_the_usual_sdp():
    from rassist.protocol.pairing import Direct

    host, join, _ = direct_handshake()
    deliver(host.decide(("files",)) + host.direct({"offer": {}}), join)
    assert deliver(join.direct({"fallback": True}), host) == [Direct({"fallback": True})]
    assert host.state is join.state is State.AWAIT_OFFER
    assert deliver(host.offer("OFFER"), join) == [Sdp("offer", "OFFER")]
    assert deliver(join.answer("ANSWER"), host) == [Sdp("answer", "ANSWER")]
    assert host.state is join.state is State.DONE


def test_only_the_host_opens_the_direct_phase_and_only_after_deciding():
    host, join, _ = direct_handshake()
    with pytest.raises(RuntimeError):
        host.direct({"offer": {}})  # before the decision
    with pytest.raises(RuntimeError):
        join.direct({"accept": {}})
    deliver(host.decide(("files",)), join)
    with pytest.raises(RuntimeError):
        join.direct({"accept": {}})  # the joiner answers; it does not open


def test_a_direct_message_out_of_turn_fails():
    host, join, _ = direct_handshake()
    deliver(host.decide(("files",)) + host.offer("OFFER"), join)
    # after the SDP offer, a forged or replayed "direct" is a violation
    forged = host._seal({"t": "direct", "offer": {}})
    assert isinstance(join.receive(forged.body)[-1], Failed)


def test_the_joiners_spake2_message_twice_before_its_hello_is_passed_over():
    # A cluster that lost a node may relay the message sent with the claim and still let the
    # joiner send it again (rendezvous/reconnect.py): the copy changes nothing.
    host = Pairing("host", "5-acme-adviser", "helpdesk")
    join = Pairing("join", "5-acme-adviser", "alice@box", ("view",))
    pake = join.start()[0].body
    from_host = host.receive(pake)
    assert host.receive(pake) == [] and host.state is State.AWAIT_HELLO
    to_host = [a for a in join.receive(from_host[0].body) if isinstance(a, Send)]
    assert locals_(join.receive(from_host[1].body)) == [PeerHello("helpdesk", ())]
    assert locals_(host.receive(to_host[0].body)) == [PeerHello("alice@box", ("view",))]
    failed = locals_(host.receive(pake))  # after the hello it is out of turn, as any replay
    assert isinstance(failed[-1], Failed) and host.state is State.FAILED


def test_another_unsealed_body_before_the_hello_still_fails():
    host = Pairing("host", "5-acme-adviser", "helpdesk")
    join = Pairing("join", "5-acme-adviser", "alice@box")
    host.receive(join.start()[0].body)
    other = Pairing("join", "5-acme-adviser", "mallory").start()[0].body
    failed = locals_(host.receive(other))
    assert isinstance(failed[-1], Failed) and "wrong code" in failed[-1].reason
