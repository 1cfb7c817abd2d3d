"""The resume handshake and its keys: data in, actions out."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rassist.crypto.resume import (
    ResumeSealError,
    lan_name,
    mailbox_id,
    open_sealed,
    resume_secret,
    seal,
)
from rassist.protocol.resume import (
    PeerSdp,
    Refused,
    Resumed,
    ResumeState,
    Send,
    Step,
)
from tests.protocol.hostile import garbage, json_values

KEY = bytes(range(32))
SECRET = resume_secret(KEY)


def pair(generation: int = 0) -> tuple[ResumeState, ResumeState]:
    return ResumeState(SECRET, "host", generation), ResumeState(SECRET, "join", generation)


def body(actions: list) -> bytes:
    sends = [a for a in actions if isinstance(a, Send)]
    assert len(sends) == 1, actions
    return sends[0].body


def resume_once(host: ResumeState, join: ResumeState) -> tuple[bytes, bytes]:
    """A full handshake; returns the sealed offer and answer."""
    h = host.handshake(host.generations()[0])
    j = join.handshake(h.generation)
    assert h.mailbox == j.mailbox
    offer = body(h.offer("v=0 offer", 3, ("view", "control")))
    got = j.receive(offer)
    assert got == [PeerSdp("offer", "v=0 offer", 3, ("view", "control"))]
    answer_actions = j.answer("v=0 answer", 5)
    assert Resumed(h.generation) in answer_actions
    answer = body(answer_actions)
    assert h.receive(answer) == [PeerSdp("answer", "v=0 answer", 5), Resumed(h.generation)]
    return offer, answer


def test_secret_and_mailboxes_are_opaque_distinct_and_deterministic():
    assert resume_secret(KEY) != KEY and len(resume_secret(KEY)) == 32
    ids = [mailbox_id(SECRET, n) for n in range(50)]
    assert all(re.fullmatch(r"[0-9a-f]{64}", i) for i in ids)
    assert len(set(ids)) == 50
    assert mailbox_id(resume_secret(KEY), 7) == ids[7]
    assert mailbox_id(resume_secret(bytes(32)), 7) != ids[7]
    assert KEY.hex() not in "".join(ids) and SECRET.hex() not in "".join(ids)
    assert re.fullmatch(r"[0-9a-f]{16}", lan_name(SECRET)) and lan_name(SECRET) != lan_name(resume_secret(bytes(32)))
    for bad in (-1, 2**31, True, "1", 1.0):
        with pytest.raises(ValueError):
            mailbox_id(SECRET, bad)


def test_seal_binds_generation_direction_and_secret():
    blob = seal(SECRET, 3, "host", b"offer")
    assert open_sealed(SECRET, 3, "host", blob) == b"offer"
    assert b"offer" not in blob
    for gen, sender, secret in ((4, "host", SECRET), (3, "join", SECRET), (3, "host", resume_secret(bytes(32)))):
        with pytest.raises(ResumeSealError):
            open_sealed(secret, gen, sender, blob)
    assert seal(SECRET, 3, "host", b"offer") != blob  # a fresh nonce each time: retries are safe


def test_a_full_resume_commits_the_generation_on_both_sides():
    host, join = pair()
    assert host.generations() == [1] and join.generations() == [1]
    resume_once(host, join)
    assert host.generation == join.generation == 1
    assert host.generations() == [2] and join.generations() == [2, 1]
    resume_once(host, join)
    assert host.generation == join.generation == 2


def test_a_lost_answer_is_asked_again_at_the_same_generation():
    host, join = pair()
    h = host.handshake(1)
    j = join.handshake(1)
    j.receive(body(h.offer("o", 0, ())))
    j.answer("a", 0)  # ...lost on the way: the joiner committed, the host did not
    assert (host.generation, join.generation) == (0, 1)
    assert host.generations() == [1] and 1 in join.generations()
    resume_once(host, join)  # the host's new offer (a fresh nonce) at generation 1 is accepted
    assert host.generation == join.generation == 1


def test_a_stranger_replaying_an_old_offer_or_answer_is_refused():
    host, join = pair()
    old_offer, old_answer = resume_once(host, join)
    # Replayed into the generation it was made for: already answered.
    again = join.handshake(1)
    assert isinstance(again.receive(old_offer)[0], Refused) and again.step is Step.FAILED
    # Replayed into the next generation: another key.
    nxt = join.handshake(2)
    assert isinstance(nxt.receive(old_offer)[0], Refused)
    # An old answer to a new offer: it echoes another nonce, or was sealed for another generation.
    h = host.handshake(2)
    h.offer("o2", 0, ())
    assert isinstance(h.receive(old_answer)[0], Refused)
    resume_once(host, join)  # the two still resume afterwards
    assert host.generation == join.generation == 2


def test_an_old_answer_at_the_same_generation_is_refused():
    host, join = pair()
    h = host.handshake(1)
    j = join.handshake(1)
    j.receive(body(h.offer("o", 0, ())))
    first_answer = body(j.answer("a", 0))  # lost; the host asks again with a new offer
    h2 = host.handshake(1)
    h2.offer("o again", 0, ())
    assert isinstance(h2.receive(first_answer)[0], Refused)


def test_stale_generations_are_refused():
    host, join = pair(generation=5)
    with pytest.raises(ValueError):
        join.handshake(3)
    j = join.handshake(5)
    stale_host = ResumeState(SECRET, "host", 3)
    stale = stale_host.handshake(4)
    assert isinstance(ResumeState(SECRET, "join", 5).handshake(5).receive(body(stale.offer("o", 0, ())))[0], Refused)
    # Generation 5 with a nonce never answered is the host asking again: accepted.
    assert isinstance(j.receive(body(ResumeState(SECRET, "host", 4).handshake(5).offer("o", 0, ())))[0], PeerSdp)
    # A handshake whose generation went stale while it waited (another mailbox won) refuses.
    join2 = ResumeState(SECRET, "join", 1)
    old = join2.handshake(1)
    join2._commit(2, "0" * 32)
    assert isinstance(old.receive(body(ResumeState(SECRET, "host", 0).handshake(1).offer("o", 0, ())))[0], Refused)


def test_the_joiner_never_grants_itself_anything_and_bad_calls_raise():
    host, join = pair()
    h = host.handshake(1)
    offer = body(h.offer("o", 0, ("view", "root", "control")))
    got = join.handshake(1).receive(offer)
    assert got[0].granted == ("view", "control")
    with pytest.raises(RuntimeError):
        h.offer("o", 0, ())
    with pytest.raises(RuntimeError):
        join.handshake(1).answer("a", 0)
    assert isinstance(h.receive(b"x" * 40)[0], Refused)
    assert isinstance(h.receive(b"")[0], Refused)  # and the attempt is over
    assert isinstance(h.receive(b"anything")[0], Refused)


def forged(generation: int, sender: str, value: object) -> bytes:
    return seal(SECRET, generation, sender, json.dumps(value).encode())


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused(data):
    for state in pair():
        hs = state.handshake(1)
        if state.role == "host":
            hs.offer("o", 0, ())
        assert all(isinstance(a, Refused) for a in hs.receive(data))


@settings(max_examples=300)
@given(json_values | garbage)
def test_well_sealed_nonsense_is_refused_never_raises(value):
    host, join = pair()
    j = join.handshake(1)
    got = j.receive(forged(1, "host", value if not isinstance(value, bytes) else value.hex()))
    assert len(got) == 1 and isinstance(got[0], Refused)


@given(st.data())
def test_tampering_with_any_byte_is_refused(data):
    host, join = pair()
    h = host.handshake(1)
    offer = bytearray(body(h.offer("v=0", 1, ("view",))))
    i = data.draw(st.integers(0, len(offer) - 1))
    offer[i] ^= data.draw(st.integers(1, 255))
    assert isinstance(join.handshake(1).receive(bytes(offer))[0], Refused)


@given(st.dictionaries(st.sampled_from(["v", "gen", "from", "nonce", "sdp", "ack", "granted", "t"]),
                       json_values, max_size=8))
def test_offers_with_wrong_fields_are_refused(overrides):
    good = {"t": "resume-offer", "v": 1, "gen": 1, "from": "host", "nonce": "a" * 32, "sdp": "o",
            "ack": 0, "granted": []}
    msg = {**good, **overrides}
    got = pair()[1].handshake(1).receive(forged(1, "host", msg))
    assert len(got) == 1
    if isinstance(got[0], PeerSdp):  # accepted only if every field is still well-formed
        assert msg["t"] == "resume-offer" and type(msg["v"]) is int and msg["v"] == 1 and msg["gen"] == 1 and msg["from"] == "host"
        assert isinstance(msg["sdp"], str) and msg["sdp"] and re.fullmatch(r"[0-9a-f]{32}", msg["nonce"])
        assert type(msg["ack"]) is int and msg["ack"] >= 0
        assert isinstance(msg["granted"], list) and all(isinstance(p, str) for p in msg["granted"])
    else:
        # json.dumps tells False from 0 and 1.0 from 1, as the decoder does (== does not).
        assert isinstance(got[0], Refused) and json.dumps(msg, sort_keys=True) != json.dumps(good, sort_keys=True)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["ok", "offer lost", "answer lost"]), max_size=30))
def test_generations_never_drift_apart_whatever_is_lost(rounds):
    """Each round the host offers where it must and the joiner waits where it must; the offer
    or the answer may be lost. The two always still meet, and a lossless round resumes."""
    host, join = pair()
    for fate in rounds + ["ok"]:
        assert host.generation <= join.generation <= host.generation + 1
        h = host.handshake(host.generations()[0])
        assert h.generation in join.generations()  # they meet at the same mailbox
        j = join.handshake(h.generation)
        offer = body(h.offer("o", 0, ()))
        if fate == "offer lost":
            continue
        assert isinstance(j.receive(offer)[0], PeerSdp)
        answer = body(j.answer("a", 0))
        if fate == "answer lost":
            continue
        assert isinstance(h.receive(answer)[0], PeerSdp)
        assert host.generation == join.generation
