"""Plain-mode lines for control being paused by the person at the host (cli/feature_lines.py)."""

from __future__ import annotations

from rassist.cli.feature_lines import host_renderers, join_renderers


def test_plain_mode_says_when_control_is_paused_and_resumed() -> None:
    host, join = host_renderers()["control"], join_renderers()["control"]
    assert "paused" in (host({"state": "paused", "peer": "ana"}) or "")
    assert "ana" in (host({"state": "resumed", "peer": "ana"}) or "")
    assert "using the mouse or keyboard" in (join({"state": "paused", "peer": "bob"}) or "")
    assert "back" in (join({"state": "resumed", "peer": "bob"}) or "")
