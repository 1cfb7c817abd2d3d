import pytest

from rassist.protocol import transfer as tp
from rassist.protocol import transfer_mux as mux
from rassist.protocol.transfer_manifest import Entry, make_manifest

CERT = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
MANIFEST = make_manifest([Entry("d", "dir"), Entry("d/a", "file", 10), Entry("b", "file", 5)])


def offer_msg(**changes):
    offer = tp.offer_for(MANIFEST, "0123456789abcdef",
                         tp.LaneOffer(CERT, (("192.0.2.2", 4000), ("::1", 4001))))
    return {**offer.to_json(), **changes}


def test_offer_round_trip_and_match():
    offer = tp.parse_offer(offer_msg())
    assert (offer.files, offer.dirs, offer.total, offer.names) == (2, 1, 15, ("d", "b"))
    assert offer.lane == tp.LaneOffer(CERT, (("192.0.2.2", 4000), ("::1", 4001)))
    assert offer.matches(MANIFEST)
    other = make_manifest([Entry("d", "dir"), Entry("d/a", "file", 11), Entry("b", "file", 5)])
    assert not offer.matches(other)


def test_many_roots_are_summarised():
    many = make_manifest([Entry(f"f{i:02}", "file", 1) for i in range(30)])
    offer = tp.parse_offer(tp.offer_for(many, "0123456789abcdef").to_json())
    assert len(offer.names) == tp.MAX_NAMES and offer.more == 10 and offer.matches(many)


@pytest.mark.parametrize("changes, why", [
    ({"id": "short"}, "offer id"),
    ({"id": "0123456789ABCDEF"}, "offer id"),
    ({"key": "x"}, "key"),
    ({"names": ["../etc"]}, "unsafe"),
    ({"names": ["a/b"]}, "top-level"),
    ({"names": [5]}, "unsafe"),
    ({"names": ["\x1b[2J"]}, "unsafe"),
    ({"names": "d"}, "names"),
    ({"files": -1}, "files"),
    ({"total": "10"}, "total"),
    ({"files": 0, "dirs": 0}, "something"),
    ({"more": 3}, "more"),
    ({"lane": {"cert": "junk", "addrs": []}}, "PEM"),
    ({"lane": {"cert": CERT, "addrs": [["example.com", 80]]}}, "IP address"),
    ({"lane": {"cert": CERT, "addrs": [["10.0.0.1", 0]]}}, "port"),
    ({"lane": {"cert": CERT, "addrs": [["10.0.0.1", 1]] * 17}}, "at most"),
    ({"lane": "yes"}, "lane"),
    ({"text": 5}, "text"),
    ({"text": "hi"}, "text offer"),
])
def test_bad_offers_are_refused(changes, why):
    with pytest.raises(tp.ProtocolError, match=why):
        tp.parse_offer(offer_msg(**changes))


def test_text_offers():
    offer = tp.text_offer("hello ✓", "0123456789abcdef")
    parsed = tp.parse_offer(offer.to_json())
    assert parsed.is_text and parsed.text == "hello ✓" and parsed.total == len("hello ✓".encode())
    with pytest.raises(tp.ProtocolError):
        tp.text_offer("x" * (tp.MAX_TEXT + 1), "0123456789abcdef")


def test_answers():
    accept = tp.parse_accept(tp.accept_message("0123456789abcdef", CERT))
    assert accept == tp.Accept("0123456789abcdef", CERT)
    assert tp.parse_accept(tp.accept_message("0123456789abcdef", None)).cert_pem is None
    decline = tp.parse_decline(tp.decline_message("0123456789abcdef", "no\x1b[31m thanks"))
    assert decline.reason == "no [31m thanks"
    with pytest.raises(tp.ProtocolError):
        tp.parse_accept({"t": tp.ACCEPT, "id": "0123456789abcdef", "lane": {"cert": "x"}})
    with pytest.raises(tp.ProtocolError):
        tp.parse_decline({"t": tp.DECLINE, "id": "0123456789abcdef", "reason": 5})
    assert tp.parse_cancel(tp.cancel_message("0123456789abcdef")).id == "0123456789abcdef"


def test_mux_messages():
    sid = mux.stream_id("0123456789abcdef")
    assert mux.decode(mux.encode(sid, mux.DATA, b"abc"))[0] == sid
    _, kind, payload = mux.decode(mux.encode_credit(sid, 65536))
    assert kind == mux.CREDIT and mux.credit_amount(payload) == 65536
    for bad in (b"short", "text message", sid + b"\x09", sid + b"\x01\x00"):
        with pytest.raises(mux.MuxError):
            mux.decode(bad)
