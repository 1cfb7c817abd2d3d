"""The transfer commands' small pieces: options, and the lines the plain mode prints."""

import pytest

from rassist.cli.sending import parse_rate
from rassist.cli.transfer_view import files_renderers
from rassist.errors import UsageError
from rassist.transfer.progress import Meter


@pytest.mark.parametrize("text, value", [("500k", 500e3), ("20M", 20e6), ("1.5G", 1.5e9),
                                         ("1000", 1000.0), ("8MB", 8e6), (None, None), ("0", None)])
def test_rates(text, value):
    assert parse_rate(text) == value


@pytest.mark.parametrize("text", ["fast", "-1M", "10 parsecs", "1e6"])
def test_bad_rates_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_rate(text)


def test_plain_mode_lines_escape_what_the_peer_chose():
    lines = files_renderers()
    offer = lines["file-offer"]({"id": "0123456789abcdef", "peer": "[red]eve", "name": "x [b]y",
                                 "files": 2, "dirs": 1, "size": 12_345})
    assert "\\[red]eve" in offer and "x \\[b]y" in offer
    assert "/accept 0123456789abcdef" in offer and "12.3 kB" in offer
    text = lines["text"]({"peer": "eve", "text": "hi\x1b[2J there"})
    assert "\x1b" not in text
    assert lines["file-progress"]({"bytes": 1}) is None  # no progress lines between chat lines
    done = lines["file-done"]({"direction": "receive", "path": "a/b", "size": 10,
                               "saved_to": "/x/a/b"})
    assert done == "Received a/b (10 bytes) → /x/a/b"


def test_meter_rate_and_eta():
    now = [0.0]
    meter = Meter(1000, clock=lambda: now[0])
    assert meter.due()
    now[0] = 1.0
    meter.add(100)
    assert meter.due()
    assert meter.rate() == pytest.approx(100.0)
    assert meter.eta() == pytest.approx(9.0)
    assert not meter.due()  # at most five events a second
    meter.skip(400)  # already there from an earlier run: done, but it did not travel
    assert (meter.done, meter.moved) == (500, 100)
    fields = meter.fields()
    assert fields["total_bytes"] == 500 and fields["total_size"] == 1000
