"""rendezvous/reconnect.system_proxy: websockets is told "no proxy" only where its own lookup
would find none, so skipping that lookup (and urllib.request with it) changes nothing."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from rassist.rendezvous.reconnect import system_proxy

NAMES = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
         "socks_proxy", "ws_proxy", "WS_PROXY", "no_proxy", "NO_PROXY", "PROXY", "http_proxyx",
         "REQUEST_METHOD", "HOME"]
VALUES = st.sampled_from(["http://proxy.example:3128", "socks5h://127.0.0.1:1080", "", "*",
                          "127.0.0.1", "GET"])


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="proxies come from the system there")
@settings(deadline=None, max_examples=200)
@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4),
       st.sampled_from(["ws://127.0.0.1:8765/", "wss://rendezvous.example/", "ws://[::1]:9/"]))
def test_no_proxy_is_said_only_where_websockets_would_find_none(env, url):
    saved = dict(os.environ)
    try:
        for name in NAMES:
            os.environ.pop(name, None)
        os.environ.update(env)
        if system_proxy() is None:
            assert get_proxy(parse_uri(url)) is None
        else:
            assert system_proxy() is True  # websockets' default: it looks them up itself
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="proxies come from the system there")
def test_a_proxy_in_the_environment_is_left_to_websockets(monkeypatch):
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    assert system_proxy() is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert system_proxy() is True
    assert get_proxy(parse_uri("wss://rendezvous.example/")) == "http://proxy.example:3128"


def test_the_deferred_urllib_request_still_finds_a_proxy():
    # rassist/startup.py defers urllib.request; with a proxy set websockets looks it up, and the
    # module loads then, whole.
    import subprocess

    script = ("import sys\nfrom rassist import startup\nstartup.defer_unused_modules()\n"
              "from websockets.proxy import get_proxy\nfrom websockets.uri import parse_uri\n"
              "print('http.client' in sys.modules)\n"
              "print(get_proxy(parse_uri('wss://rendezvous.example/')), 'http.client' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**env, "HTTPS_PROXY": "http://proxy.example:3128"})
    assert done.stdout.split("\n")[:2] == ["False", "http://proxy.example:3128 True"], done.stderr
