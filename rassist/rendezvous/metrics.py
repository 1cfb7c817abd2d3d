"""The server's counters and their Prometheus text form (served at /metrics with --metrics)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Metrics:
    pairings: int = 0
    failed_claims: int = 0     # claims of a nameplate nobody holds: wrong codes and guesses
    relayed_bytes: int = 0
    refused: int = 0           # connections dropped for breaking the protocol or the limits
    resumes: int = 0           # connections that came back (from a node that died) and carried on
    refused_resumes: int = 0   # resumes refused: unknown token, wrong secret, too late
    _recent: deque[float] = field(default_factory=deque)

    def paired(self, now: float | None = None) -> None:
        self.pairings += 1
        self._recent.append(time.monotonic() if now is None else now)

    def pairings_last_minute(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        while self._recent and now - self._recent[0] > 60:
            self._recent.popleft()
        return len(self._recent)

    def render(self, node: str, gauges: dict[str, float], now: float | None = None) -> str:
        """Prometheus text exposition format, version 0.0.4."""
        label = f'{{node="{node}"}}'
        rows = [
            ("rassist_pairings_total", "counter", "Host and joiner pairs made", self.pairings),
            ("rassist_pairings_last_minute", "gauge", "Pairs made in the last 60 s",
             self.pairings_last_minute(now)),
            ("rassist_failed_claims_total", "counter", "Claims of a nameplate nobody holds (wrong codes)",
             self.failed_claims),
            ("rassist_relayed_bytes_total", "counter", "Bytes of sealed bodies relayed", self.relayed_bytes),
            ("rassist_refused_connections_total", "counter", "Connections dropped for bad frames or limits",
             self.refused),
            ("rassist_resumes_total", "counter", "Connections resumed on this node", self.resumes),
            ("rassist_refused_resumes_total", "counter", "Resumes refused (bad token or secret, too late)",
             self.refused_resumes),
        ] + [(f"rassist_{name}", "gauge", name.replace("_", " ").capitalize() + " on this node", value)
             for name, value in sorted(gauges.items())]
        lines = []
        for name, kind, text, value in rows:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name}{label} {value:g}"]
        return "\n".join(lines) + "\n"
