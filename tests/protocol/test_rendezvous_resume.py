"""The resume fields of rendezvous frames (protocol/rendezvous_resume.py): hostile input raises
only WireError; what passes is well-formed; numbering keeps a frame a frame."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.protocol import rendezvous as wire
from rassist.protocol import rendezvous_resume as rr
from rassist.rendezvous.client import SERVER_OPS
from tests.protocol.hostile import hostile_json_text

SLOW = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECRET = rr.new_secret()
RESUME = {"op": "resume", "token": rr.new_token(), "secret": SECRET, "key": rr.verifier(rr.new_secret()),
          "have": 3, "nameplate": "42", "was": "open"}
RESUMED = {"op": "resumed", "token": rr.new_token(), "got": 2, "state": "paired"}


@SLOW
@given(hostile_json_text(RESUME) | hostile_json_text(RESUMED) | hostile_json_text({"op": "resumable", "token": "a" * 24})
       | hostile_json_text({"op": "allocate", "key": rr.verifier(SECRET)})
       | hostile_json_text({"n": 7, "op": "message", "body": "AAAA"}))
def test_resume_frames_raise_only_wire_error(frame):
    for ops in (wire.CLIENT_OPS, SERVER_OPS):
        try:
            msg = wire.decode(frame, ops)
        except wire.WireError:
            continue
        if msg["op"] == "resume":
            assert rr.TOKEN.fullmatch(msg["token"]) and rr.KEY.fullmatch(msg["secret"])
            assert isinstance(msg["have"], int) and msg["have"] >= 0
        if "n" in msg:
            assert isinstance(msg["n"], int) and not isinstance(msg["n"], bool)


def test_good_frames_pass_and_bad_fields_do_not():
    assert wire.decode(json.dumps(RESUME), wire.CLIENT_OPS)["op"] == "resume"
    assert wire.decode(json.dumps(RESUMED), SERVER_OPS)["state"] == "paired"
    for field, bad in (("token", "short"), ("token", 5), ("secret", "x" * 43 + "="), ("key", None),
                       ("have", -1), ("have", True), ("have", 2**60), ("nameplate", "0"), ("was", "owner")):
        with pytest.raises(wire.WireError):
            wire.decode(json.dumps({**RESUME, field: bad}), wire.CLIENT_OPS)
    with pytest.raises(wire.WireError):
        wire.decode(json.dumps({**RESUMED, "state": "admin"}), SERVER_OPS)
    with pytest.raises(wire.WireError):
        wire.decode('{"op":"allocate","key":"not a key"}', wire.CLIENT_OPS)
    with pytest.raises(wire.WireError):  # only the server says resumable
        wire.decode('{"op":"resumable","token":"aaaaaaaaaaaaaaaaaaaa"}', wire.CLIENT_OPS)


@given(st.integers(min_value=0, max_value=2**53 - 1), st.sampled_from(
    [wire.encode("joined"), wire.encode("message", body="AAAA"), wire.encode("peer-gone")]))
def test_numbering_adds_n_and_keeps_the_frame(n, frame):
    numbered = json.loads(rr.number(frame, n))
    assert numbered == {**json.loads(frame), "n": n}


def test_the_verifier_is_not_the_secret_and_is_stable():
    secret = rr.new_secret()
    assert rr.verifier(secret) == rr.verifier(secret) != secret
    assert rr.KEY.fullmatch(secret) and rr.KEY.fullmatch(rr.verifier(secret))
    assert rr.new_secret() != secret and rr.new_token() != rr.new_token()
