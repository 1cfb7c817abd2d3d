"""Short-lived TURN credentials in coturn's shared-secret ("TURN REST API") scheme.

The rendezvous server and coturn share a secret; the server hands each client a username that
carries its own expiry time and a password that is an HMAC of it, so no per-user state is kept
and a leaked credential dies on its own."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class TurnConfig:
    urls: tuple[str, ...]
    secret: str
    ttl: int = 3600

    def credentials(self, now: float, user: str = "rassist") -> dict[str, object]:
        username = f"{int(now) + self.ttl}:{user}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return {"urls": list(self.urls), "username": username,
                "credential": base64.b64encode(digest).decode("ascii")}
