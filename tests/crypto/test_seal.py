import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.crypto.pake import Pake
from rassist.crypto.seal import SealError, channel


def keys(code_a: str, code_b: str) -> tuple[bytes, bytes]:
    a, b = Pake(code_a), Pake(code_b)
    return a.finish(b.outbound), b.finish(a.outbound)


def test_same_code_same_key_different_code_different_key():
    ka, kb = keys("7-acme-adviser", "7-acme-adviser")
    assert ka == kb
    ka, kb = keys("7-acme-adviser", "7-acme-alkali")
    assert ka != kb


@given(st.lists(st.binary(max_size=300), max_size=10))
def test_round_trip_in_order(messages):
    key, _ = keys("1-a-b", "1-a-b")
    sealer, _ = channel(key, "host")
    _, opener = channel(key, "join")
    for m in messages:
        assert opener.open(sealer.seal(m)) == m


def test_ciphertext_hides_the_plaintext():
    key, _ = keys("1-a-b", "1-a-b")
    sealer, _ = channel(key, "host")
    assert b"v=0 o=- sdp" not in sealer.seal(b"v=0 o=- sdp")


def test_flipped_byte_replay_reorder_wrong_direction_and_wrong_key_fail():
    key, other = keys("1-a-b", "1-a-c")
    sealer, _ = channel(key, "host")
    first, second = sealer.seal(b"one"), sealer.seal(b"two")

    _, opener = channel(key, "join")
    flipped = bytearray(first)
    flipped[12] ^= 1
    with pytest.raises(SealError):
        opener.open(bytes(flipped))

    _, opener = channel(key, "join")
    opener.open(first)
    with pytest.raises(SealError, match="replayed"):
        opener.open(first)

    _, opener = channel(key, "join")
    with pytest.raises(SealError, match="expected 0"):
        opener.open(second)

    _, same_side = channel(key, "host")  # a host's own message reflected back at it
    with pytest.raises(SealError):
        same_side.open(first)

    _, stranger = channel(other, "join")
    with pytest.raises(SealError):
        stranger.open(first)

    with pytest.raises(SealError, match="short"):
        channel(key, "join")[1].open(b"\x00" * 5)
