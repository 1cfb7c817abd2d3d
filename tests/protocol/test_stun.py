"""The STUN codec: binding requests in, XOR-MAPPED-ADDRESS answers out; hostile bytes ignored."""

import struct

from hypothesis import given
from hypothesis import strategies as st

from rassist.protocol import stun

addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
transactions = st.binary(min_size=12, max_size=12)


@given(transactions, addresses, st.integers(0, 65535))
def test_an_answer_reads_back_as_the_address_it_carries(transaction, host, port):
    answer = stun.build_binding_response(transaction, host, port)
    assert stun.parse_binding_response(answer, transaction) == (host, port)
    assert stun.parse_binding_response(answer, bytes(12) if transaction != bytes(12) else b"x" * 12) is None


@given(transactions, addresses, st.integers(0, 65535))
def test_never_an_amplifier(transaction, host, port):
    request, _ = stun.build_binding_request(transaction)
    answer = stun.build_binding_response(transaction, host, port)
    assert len(answer) <= len(request) + 24  # the mapped address attribute, IPv6 at most


def test_aioice_reads_our_answer():
    from aioice import stun as aioice_stun

    request, transaction = stun.build_binding_request()
    assert stun.parse_binding_request(request) == transaction
    message = aioice_stun.parse_message(stun.build_binding_response(transaction, "198.19.0.11", 40000))
    assert message.attributes["XOR-MAPPED-ADDRESS"] == ("198.19.0.11", 40000)


def test_requests_with_attributes_are_answered_and_the_rest_ignored():
    from aioice import stun as aioice_stun

    message = aioice_stun.Message(message_method=aioice_stun.Method.BINDING,
                                  message_class=aioice_stun.Class.REQUEST)
    message.attributes["SOFTWARE"] = "abc"
    message.add_fingerprint()
    assert stun.parse_binding_request(bytes(message)) == message.transaction_id
    response = aioice_stun.Message(message_method=aioice_stun.Method.BINDING,
                                   message_class=aioice_stun.Class.RESPONSE)
    assert stun.parse_binding_request(bytes(response)) is None  # not a request
    allocate = aioice_stun.Message(message_method=aioice_stun.Method.ALLOCATE,
                                   message_class=aioice_stun.Class.REQUEST)
    assert stun.parse_binding_request(bytes(allocate)) is None
    classic = struct.pack("!HHI12s", 1, 0, 0x12345678, bytes(12))  # RFC 3489, no magic cookie
    assert stun.parse_binding_request(classic) is None
    assert stun.parse_binding_request(b"\x00\x01\x00\x08" + struct.pack("!I", stun.MAGIC_COOKIE)
                                      + bytes(12) + b"\x00\x01\x00\x10abcd") is None  # attribute overruns


@given(st.binary(max_size=700))
def test_hostile_datagrams_never_raise(data):
    transaction = stun.parse_binding_request(data)
    if transaction is not None:
        assert len(transaction) == 12 and data[:2] == b"\x00\x01" and len(data) >= 20
    assert stun.parse_binding_response(data, data[8:20].ljust(12, b"\0")) is None or len(data) >= 32


@given(transactions, st.binary(max_size=64), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_hostile_answers_never_raise(transaction, body, attr_type, attr_len):
    attr = struct.pack("!HH", attr_type, attr_len) + body
    data = struct.pack("!HHI12s", stun.BINDING_SUCCESS, len(attr), stun.MAGIC_COOKIE, transaction) + attr
    result = stun.parse_binding_response(data, transaction)
    assert result is None or isinstance(result[1], int)
