"""STUN binding requests and responses (RFC 8489), just enough for a reflexive-address service.

Pure: bytes in, bytes or values out. The server side answers binding requests with the
XOR-MAPPED-ADDRESS it saw; the client side (rassist doctor) reads that address back. Everything
else is ignored: a datagram that is not a well-formed binding request gets no answer at all."""

from __future__ import annotations

import ipaddress
import os
import struct

MAGIC_COOKIE = 0x2112A442
HEADER = struct.Struct("!HHI12s")
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
XOR_MAPPED_ADDRESS = 0x0020
MAX_REQUEST = 548  # an RFC 8489 client never needs more for a binding request; larger is ignored


def parse_binding_request(data: bytes) -> bytes | None:
    """The transaction id of a well-formed binding request, or None for anything else."""
    if not 20 <= len(data) <= MAX_REQUEST:
        return None
    kind, length, cookie, transaction = HEADER.unpack_from(data)
    if kind != BINDING_REQUEST or cookie != MAGIC_COOKIE or length != len(data) - 20 or length % 4:
        return None
    # Attributes must tile the body exactly; their contents do not matter to a binding answer.
    pos = 20
    while pos < len(data):
        if pos + 4 > len(data):
            return None
        attr_len = struct.unpack_from("!H", data, pos + 2)[0]
        pos += 4 + attr_len + (-attr_len % 4)
    return transaction if pos == len(data) else None


def _xor_address(host: str, port: int, transaction: bytes) -> bytes:
    ip = ipaddress.ip_address(host)
    xport = port ^ (MAGIC_COOKIE >> 16)
    key = struct.pack("!I", MAGIC_COOKIE) + transaction
    raw = ip.packed
    xored = bytes(b ^ k for b, k in zip(raw, key))
    family = 0x01 if ip.version == 4 else 0x02
    return struct.pack("!BBH", 0, family, xport) + xored


def build_binding_response(transaction: bytes, host: str, port: int) -> bytes:
    """A success response carrying the request's source address (IPv4: 32 bytes, IPv6: 44)."""
    if len(transaction) != 12 or not 0 <= port <= 0xFFFF:
        raise ValueError("bad transaction id or port")
    value = _xor_address(host, port, transaction)
    attr = struct.pack("!HH", XOR_MAPPED_ADDRESS, len(value)) + value
    return HEADER.pack(BINDING_SUCCESS, len(attr), MAGIC_COOKIE, transaction) + attr


def build_binding_request(transaction: bytes | None = None) -> tuple[bytes, bytes]:
    """A bare binding request and its transaction id (for rassist doctor)."""
    transaction = transaction if transaction is not None else os.urandom(12)
    return HEADER.pack(BINDING_REQUEST, 0, MAGIC_COOKIE, transaction), transaction


def parse_binding_response(data: bytes, transaction: bytes) -> tuple[str, int] | None:
    """The mapped address in a success response to `transaction`, or None if it is anything else."""
    if len(data) < 20:
        return None
    kind, length, cookie, got = HEADER.unpack_from(data)
    if kind != BINDING_SUCCESS or cookie != MAGIC_COOKIE or got != transaction or length != len(data) - 20:
        return None
    pos = 20
    while pos + 4 <= len(data):
        attr_type, attr_len = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4:pos + 4 + attr_len]
        if len(value) != attr_len:
            return None
        if attr_type == XOR_MAPPED_ADDRESS and attr_len in (8, 20):
            family, xport = value[1], struct.unpack_from("!H", value, 2)[0]
            size = 4 if family == 0x01 else 16 if family == 0x02 else 0
            if size == 0 or attr_len != 4 + size:
                return None
            key = struct.pack("!I", MAGIC_COOKIE) + transaction
            raw = bytes(b ^ k for b, k in zip(value[4:], key))
            return str(ipaddress.ip_address(raw)), xport ^ (MAGIC_COOKIE >> 16)
        pos += 4 + attr_len + (-attr_len % 4)
    return None
