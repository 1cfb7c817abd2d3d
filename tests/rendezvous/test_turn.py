import base64
import hashlib
import hmac

from rassist.rendezvous.turn import TurnConfig


def test_credentials_follow_coturns_rest_scheme():
    config = TurnConfig(("turn:relay.test:3478",), "s3cret", ttl=600)
    creds = config.credentials(now=1_000_000.4)
    assert creds["username"] == "1000600:rassist"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:rassist", hashlib.sha1).digest()).decode()
    assert creds["credential"] == expected
    assert creds["urls"] == ["turn:relay.test:3478"]
