"""SPAKE2 messages from the relay are hostile: only PakeError may come out of finish()."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.crypto.pake import Pake, PakeError
from rassist.protocol.pairing import Failed, Pairing, State

OFF_CURVE = b"S" + (2).to_bytes(32, "little")  # y = 2 has no x on edwards25519


def test_off_curve_point_is_a_pake_error():
    with pytest.raises(PakeError):
        Pake("1-acme-adviser").finish(OFF_CURVE)


def test_off_curve_point_fails_the_pairing_as_an_authentication_failure():
    host = Pairing("host", "1-acme-adviser", "desk")
    actions = host.receive(OFF_CURVE)
    assert [type(a) for a in actions] == [Failed] and host.state is State.FAILED


@given(st.binary(min_size=32, max_size=32))
def test_any_33_byte_message_gives_a_key_or_pake_error(point: bytes):
    try:
        key = Pake("7-acme-adviser").finish(b"S" + point)
    except PakeError:
        return
    assert len(key) == 32


@given(st.binary(max_size=80))
def test_any_bytes_give_a_key_or_pake_error(data: bytes):
    try:
        Pake("7-acme-adviser").finish(data)
    except PakeError:
        pass
