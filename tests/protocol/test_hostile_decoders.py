"""Every decoder of bytes from a peer, a relay or a stranger raises only its documented error,
whatever it is fed: random bytes, random JSON, deep nesting, huge numbers, wrong types, and
valid messages cut short."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rassist.crypto.seal import SealError, channel
from rassist.protocol import input as wire_input
from rassist.protocol import rendezvous as wire
from rassist.protocol import transfer as tr
from rassist.protocol import transfer_frames as fr
from rassist.protocol import transfer_mux as mux
from rassist.protocol.jsonwire import JsonError, loads
from rassist.protocol.pairing import Failed, Pairing, State
from rassist.protocol.transfer_manifest import Entry, ManifestError, decode_manifest, make_manifest
from rassist.protocol.transfer_resume import ResumeError, parse_journal, parse_resume, parse_roots
from tests.protocol.hostile import (
    deep_nesting,
    garbage,
    hostile_json_text,
    json_values,
    to_text,
    truncated,
    wrong_types,
)

SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANIFEST = make_manifest([Entry("dir", "dir"), Entry("dir/a.txt", "file", 10), Entry("b.bin", "file", 5)])
OFFER = {"t": "file-offer", "id": "0123456789abcdef", "key": "0" * 32, "names": ["dir", "b.bin"],
         "files": 2, "dirs": 1, "total": 15, "more": 0, "text": None,
         "lane": {"cert": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
                  "addrs": [["127.0.0.1", 5000]]}}


# ---------------------------------------------------------------- the shared JSON parser

@SLOW
@given(st.one_of(garbage, deep_nesting(), json_values.map(to_text), st.binary(max_size=50).map(lambda b: b"\xff" + b)))
def test_loads_raises_only_json_error(data):
    try:
        loads(data)
    except JsonError:
        pass


@given(json_values)
def test_loads_agrees_with_json_on_shallow_documents(value):
    assert loads(to_text(value)) == json.loads(to_text(value))


def test_loads_bounds_depth_and_numbers():
    assert loads("[" * 32 + "]" * 32) is not None
    for bad in ("[" * 33 + "]" * 33, "1" * 5000, "1e999", "NaN", "-Infinity", '"\\ud800', b"\xc3("):
        with pytest.raises(JsonError):
            loads(bad)
    assert loads('{"s": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"]]"}')["s"].startswith("[[")


# ---------------------------------------------------------------- rendezvous frames

@SLOW
@given(hostile_json_text({"op": "send", "body": "AAAA"}) | hostile_json_text({"op": "claim", "nameplate": "12"}))
def test_rendezvous_frames_raise_only_wire_error(frame):
    for ops in (wire.CLIENT_OPS, frozenset({"allocated", "claimed", "joined", "message", "peer-gone", "pong",
                                            "turn", "error"}), None):
        try:
            msg = wire.decode(frame, ops)
        except wire.WireError:
            continue
        assert isinstance(msg, dict) and isinstance(msg["op"], str)
        if isinstance(msg.get("body"), str):
            try:
                wire.unpack_body(msg["body"])
            except wire.WireError:
                pass


# ---------------------------------------------------------------- sealed signalling

@given(garbage.map(lambda d: d.encode() if isinstance(d, str) else d))
def test_opener_raises_only_seal_error(data):
    _, opener = channel(b"k" * 32, "host")
    try:
        opener.open(data)
    except SealError:
        pass


def paired(code: str = "3-acme-adviser") -> tuple[Pairing, Pairing]:
    """Host and joiner after SPAKE2: the host waits for the joiner's first sealed message."""
    host, join = Pairing("host", code, "desk"), Pairing("join", code, "mallory", ("view",))
    from_host = host.receive(join.start()[0].body)
    join.receive(from_host[0].body)
    return host, join


@SLOW
@given(st.lists(garbage.map(lambda d: d.encode() if isinstance(d, str) else d), min_size=1, max_size=4))
def test_pairing_turns_any_relay_bytes_into_failed_never_an_exception(bodies):
    for role in ("host", "join"):
        pairing = Pairing(role, "3-acme-adviser", "x")
        for body in bodies:
            actions = pairing.receive(body)
            assert all(type(a).__name__ in ("Send", "Failed", "PeerHello", "Decided", "Declined", "Sdp")
                       for a in actions)
        assert pairing.state in (State.FAILED, State.AWAIT_HELLO, State.AWAIT_PAKE)


@SLOW
@given(hostile_json_text({"t": "hello", "v": 1, "name": "x", "wants": ["view"]})
       | hostile_json_text({"t": "sdp", "type": "offer", "sdp": "v=0"})
       | hostile_json_text({"t": "decision", "granted": ["view"]}))
def test_a_peer_that_knows_the_code_cannot_crash_pairing_with_sealed_junk(plaintext):
    """The sealed layer authenticates, it does not validate: what is inside is still hostile."""
    host, join = paired()
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    sealer, _ = channel(join.key, "join")  # a fresh sealer: this junk is its message number 0
    actions = host.receive(sealer.seal(data))
    assert not any(isinstance(a, Failed) and "wrong code" in a.reason for a in actions)
    if host.state is State.FAILED:
        assert isinstance(actions[-1], Failed)


# ---------------------------------------------------------------- input events

@SLOW
@given(hostile_json_text({"t": "move", "x": 0.5, "y": 0.5}) | hostile_json_text({"t": "key", "k": "a", "d": True})
       | hostile_json_text({"t": "text", "s": "hello"}))
def test_input_events_raise_only_input_error(data):
    try:
        wire_input.decode(data)
    except wire_input.InputError:
        pass


# ---------------------------------------------------------------- file transfer

@SLOW
@given(hostile_json_text(MANIFEST.to_json()))
def test_manifests_raise_only_manifest_error(data):
    data = data.encode() if isinstance(data, str) else data
    try:
        decode_manifest(data)
    except ManifestError:
        pass


@SLOW
@given(st.sampled_from([fr.HELLO, fr.RESUME, fr.ERROR, fr.MANIFEST]),
       hostile_json_text({"offer": "0123456789abcdef"}))
def test_json_frames_raise_only_frame_error(kind, body):
    body = body.encode() if isinstance(body, str) else body
    frame = fr.Frame(kind, body)
    try:
        frame.json()
    except fr.FrameError:
        pass
    for unpack in (frame.file_header, frame.end, frame.ack):
        try:
            unpack()
        except fr.FrameError:
            pass


def valid_stream() -> bytes:
    return (fr.encode_json(fr.HELLO, {"offer": "0123456789abcdef"}) + fr.encode(fr.MANIFEST, MANIFEST.encode())
            + fr.encode_file(1, 0, 10) + b"0123456789" + fr.encode_end(1, b"\0" * 32) + fr.encode(fr.DONE))


@SLOW
@given(st.one_of(st.binary(max_size=400), truncated(valid_stream()),
                 st.binary(max_size=40).map(lambda b: valid_stream() + b)),
       st.lists(st.integers(min_value=1, max_value=64), max_size=10))
def test_the_frame_stream_raises_only_frame_error(stream, cuts):
    decoder = fr.FrameDecoder(max_body=1 << 16)
    pieces, pos = [], 0
    for cut in cuts:
        pieces.append(stream[pos:pos + cut])
        pos += cut
    pieces.append(stream[pos:])
    try:
        for piece in pieces:
            for item in decoder.feed(piece):
                if isinstance(item, fr.Frame) and item.type in (fr.HELLO, fr.RESUME, fr.ERROR):
                    try:
                        item.json()
                    except fr.FrameError:
                        pass
    except fr.FrameError:
        pass


@SLOW
@given(st.one_of(json_values, wrong_types(OFFER), st.builds(dict, wrong_types(OFFER),
                                                             lane=json_values)))
def test_offer_messages_raise_only_protocol_error(msg):
    for parse in (tr.parse_offer, tr.parse_accept, tr.parse_decline, tr.parse_cancel):
        if not isinstance(msg, dict):
            continue
        try:
            parse(msg)
        except tr.ProtocolError:
            pass


@SLOW
@given(json_values | wrong_types({"have": {"1": [3, "a" * 64]}, "done": {"2": "b" * 64}}))
def test_resume_messages_raise_only_resume_error(obj):
    if not isinstance(obj, dict):
        return
    try:
        parse_resume(obj, MANIFEST)
    except ResumeError:
        pass
    assert isinstance(parse_roots(obj, "k" * 32, MANIFEST), dict)


@given(st.lists(hostile_json_text({"i": 1, "sha256": "a" * 64, "path": "dir/a.txt"}), max_size=5))
def test_a_damaged_journal_is_read_without_raising(lines):
    text = "\n".join(line if isinstance(line, str) else line.decode("latin-1") for line in lines)
    assert isinstance(parse_journal(text, MANIFEST), dict)


@given(st.binary(max_size=60) | st.text(max_size=20))
def test_bulk_channel_messages_raise_only_mux_error(message):
    try:
        sid, kind, payload = mux.decode(message)
    except mux.MuxError:
        return
    if kind == mux.CREDIT:
        assert mux.credit_amount(payload) >= 0


@SLOW
@given(st.one_of(json_values, wrong_types({"t": "mark", "k": "label", "text": "here", "p": [0.5, 0.5], "pin": False}),
                 wrong_types({"t": "mark", "k": "draw", "p": [[0.1, 0.2], [0.3, 0.4]], "c": "#ff3b30", "pin": True})))
def test_annotation_marks_raise_only_annotate_error(msg):
    from rassist.protocol.annotate import AnnotateError, decode

    if not isinstance(msg, dict):
        return
    try:
        decode(msg)
    except AnnotateError:
        pass


@SLOW
@given(st.one_of(json_values, st.lists(wrong_types({"urls": ["turn:relay.example:3478?transport=tcp"],
                                                    "username": "1700000000:rassist", "credential": "c2VjcmV0"}),
                                       max_size=4),
                 st.lists(st.fixed_dictionaries({"urls": st.lists(st.text(max_size=40) | st.from_regex(
                     r"(stun|turn|turns|stuns|http):[a-z0-9.:?=-]{0,30}", fullmatch=True), max_size=4),
                     "username": st.text(max_size=10), "credential": st.text(max_size=10)}), max_size=3)))
def test_ice_servers_from_the_rendezvous_are_only_ever_what_aiortc_accepts(servers):
    from aiortc.rtcicetransport import parse_stun_turn_uri

    for entry in wire.ice_servers(servers):
        assert entry["urls"]
        for url in entry["urls"]:
            parse_stun_turn_uri(url)  # raises ValueError on what aiortc would refuse
            assert url.startswith("stun") or entry.get("username")
