"""The pairing state machine, sans I/O: relay bodies in, actions out.

Joiner                                  Host
  SPAKE2 msg  ------------------------>  (with the joiner's claim, where the server relays it)
              <------------------------  SPAKE2 msg, sealed hello
  sealed hello ----------------------->  (host approves or declines)
              <------------------------  sealed decision [, sealed offer]
  sealed answer ---------------------->

A joiner that can move files without WebRTC says so in its hello ("direct"). The host may then,
after its decision, talk "direct" messages with it instead of offering SDP at once (send and
receive swap certificates and addresses and open a pinned TLS connection); either side ends
that with a "fallback" message, after which the SDP offer and answer follow as above.

The first sealed message each way doubles as key confirmation: if the codes differed, it fails
to open and both sides stop with a wrong-code error. A side that detects a failure later tells
the other with a sealed abort, so both stop with the same authentication error. Every body after the SPAKE2 message is
sealed, numbered and checked, so the relay can neither read, change, replay nor reorder them."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rassist.protocol.jsonwire import loads
from rassist.protocol.permissions import PERMISSIONS

if TYPE_CHECKING:  # SPAKE2 and AEAD load with the first pairing: `send` prints its code before
    from rassist.crypto.pake import Pake
    from rassist.crypto.pake_process import PakeProcess
    from rassist.crypto.seal import Opener, Sealer

PROTOCOL_VERSION = 1
Role = Literal["host", "join"]


@dataclass(frozen=True)
class Send:
    """Relay these bytes to the peer."""
    body: bytes


@dataclass(frozen=True)
class PeerHello:
    """The peer proved it knows the code; here is who it says it is."""
    name: str
    wants: tuple[str, ...]
    direct: bool = False  # it can move files over a direct TLS connection without WebRTC
    # Set by the host's driver when it asks: answers to the request must name it.
    request_id: str = field(default="", compare=False)


@dataclass(frozen=True)
class Direct:
    """A "direct" message from the peer (its fields, without "t")."""
    fields: dict[str, Any]


@dataclass(frozen=True)
class Decided:
    """The host's decision reached the joiner: what it may do."""
    granted: tuple[str, ...]


@dataclass(frozen=True)
class Declined:
    reason: str


@dataclass(frozen=True)
class Sdp:
    """The peer's session description (offer for the joiner, answer for the host)."""
    type: str
    sdp: str


@dataclass(frozen=True)
class Failed:
    """Authentication failed: wrong code, tampering, replay, or a protocol violation."""
    reason: str


Action = Send | PeerHello | Decided | Declined | Sdp | Direct | Failed


class State(enum.Enum):
    AWAIT_PAKE = "await-pake"
    AWAIT_HELLO = "await-hello"
    AWAIT_DECISION = "await-decision"   # host: ours to make; joiner: the host's to send
    AWAIT_OFFER = "await-offer"         # host: our offer to send; joiner: the host's to arrive
    AWAIT_ANSWER = "await-answer"       # host: the joiner's answer; joiner: ours to send
    DIRECT = "direct"                   # both: "direct" messages until one says "fallback"
    DONE = "done"
    FAILED = "failed"


class Pairing:
    def __init__(self, role: Role, code: str, name: str, wants: tuple[str, ...] = (),
                 direct: bool = False, pake: Pake | PakeProcess | None = None) -> None:
        """`pake`: SPAKE2 for this very code, under way in a process of its own already
        (crypto/pake_process.py); without it SPAKE2 runs here."""
        self.role = role
        self.state = State.AWAIT_PAKE
        if pake is None:
            from rassist.crypto.pake import Pake as Here

            pake = Here(code)
        self._pake = pake
        self._hello = {"t": "hello", "v": PROTOCOL_VERSION, "name": name, "wants": list(wants)}
        if direct:
            self._hello["direct"] = True
        self._sealer: Sealer | None = None
        self._opener: Opener | None = None
        self._peer_pake: bytes | None = None
        self.key: bytes | None = None

    def start(self) -> list[Action]:
        # The joiner speaks first so the host, which may have waited for minutes, answers at once.
        return [Send(self._pake.outbound)] if self.role == "join" else []

    def receive(self, body: bytes) -> list[Action]:
        if self.state in (State.DONE, State.FAILED):
            return self._fail("message after pairing finished")
        if self.state is State.AWAIT_PAKE:
            return self._on_pake(body)
        if self.state is State.AWAIT_HELLO and body == self._peer_pake:
            # The same SPAKE2 message again, before the hello that follows it: a rendezvous
            # cluster that lost a node may have passed on the one sent with the claim and still
            # let the joiner send it once more. It carries nothing new; a copy anywhere else
            # fails below, as any other unsealed body does.
            return []
        from rassist.crypto.seal import SealError

        try:
            assert self._opener is not None
            msg = loads(self._opener.open(body))
        except SealError as exc:
            first = self.state is State.AWAIT_HELLO
            return self._fail("wrong code (the peer's key did not match)" if first else str(exc))
        except ValueError:
            return self._fail("sealed message is not JSON")
        if not isinstance(msg, dict):
            return self._fail("sealed message is not an object")
        return self._on_message(msg)

    def decide(self, granted: tuple[str, ...] | None, reason: str = "the host declined") -> list[Action]:
        """Host only: `granted` None declines; otherwise the permissions given to the joiner."""
        self._require("host", State.AWAIT_DECISION)
        if granted is None:
            self.state = State.FAILED
            return [self._seal({"t": "declined", "reason": reason})]
        self.state = State.AWAIT_OFFER
        return [self._seal({"t": "decision", "granted": [p for p in granted if p in PERMISSIONS]})]

    def direct(self, fields: dict[str, Any]) -> list[Action]:
        """A "direct" message: the host opens that phase after its decision, then both may
        speak. {"fallback": true} ends it: the SDP offer and answer follow."""
        if not (self.state is State.DIRECT or (self.role == "host" and self.state is State.AWAIT_OFFER)):
            raise RuntimeError(f"direct message in state {self.state.value} as {self.role}")
        self.state = State.AWAIT_OFFER if fields.get("fallback") is True else State.DIRECT
        return [self._seal({**fields, "t": "direct"})]

    def offer(self, sdp: str) -> list[Action]:
        self._require("host", State.AWAIT_OFFER)
        self.state = State.AWAIT_ANSWER
        return [self._seal({"t": "sdp", "type": "offer", "sdp": sdp})]

    def answer(self, sdp: str) -> list[Action]:
        self._require("join", State.AWAIT_ANSWER)
        self.state = State.DONE
        return [self._seal({"t": "sdp", "type": "answer", "sdp": sdp})]

    def _on_pake(self, body: bytes) -> list[Action]:
        from rassist.crypto.pake import PakeError
        from rassist.crypto.seal import channel

        try:
            self.key = self._pake.finish(body)
        except PakeError as exc:
            return self._fail(str(exc))
        self._peer_pake = body
        self._sealer, self._opener = channel(self.key, self.role)
        self.state = State.AWAIT_HELLO
        out: list[Action] = [Send(self._pake.outbound)] if self.role == "host" else []
        return out + [self._seal(self._hello)]

    def _on_message(self, msg: dict[str, Any]) -> list[Action]:
        kind = msg.get("t")
        if kind == "abort":
            self.state = State.FAILED
            return [Failed(f"the peer aborted: {str(msg.get('reason', ''))[:300]}")]
        if self.state is State.AWAIT_HELLO and kind == "hello":
            if msg.get("v") != PROTOCOL_VERSION:
                return self._fail(f"peer speaks protocol version {msg.get('v')!r}, we speak {PROTOCOL_VERSION}")
            name = msg.get("name")
            wants = msg.get("wants", [])
            if not isinstance(name, str) or not isinstance(wants, list):
                return self._fail("malformed hello")
            self.state = State.AWAIT_DECISION
            return [PeerHello(name[:200], tuple(w for w in wants if w in PERMISSIONS),
                              msg.get("direct") is True)]
        if self.role == "join" and self.state is State.AWAIT_DECISION:
            if kind == "declined":
                self.state = State.FAILED
                return [Declined(str(msg.get("reason", "the host declined"))[:500])]
            if kind == "decision" and isinstance(msg.get("granted"), list):
                self.state = State.AWAIT_OFFER
                return [Decided(tuple(p for p in msg["granted"] if p in PERMISSIONS))]
        if kind == "direct" and (self.state is State.DIRECT or
                                 (self.role == "join" and self.state is State.AWAIT_OFFER)):
            self.state = State.AWAIT_OFFER if msg.get("fallback") is True else State.DIRECT
            return [Direct({k: v for k, v in msg.items() if k != "t"})]
        expected = {State.AWAIT_OFFER: ("join", "offer"), State.AWAIT_ANSWER: ("host", "answer")}
        if kind == "sdp" and expected.get(self.state) == (self.role, msg.get("type")):
            if not isinstance(msg.get("sdp"), str):
                return self._fail("malformed session description")
            self.state = State.AWAIT_ANSWER if self.role == "join" else State.DONE
            return [Sdp(msg["type"], msg["sdp"])]
        return self._fail(f"unexpected {kind!r} message in state {self.state.value}")

    def _seal(self, msg: dict[str, Any]) -> Send:
        assert self._sealer is not None
        return Send(self._sealer.seal(json.dumps(msg, separators=(",", ":")).encode()))

    def _require(self, role: Role, state: State) -> None:
        if self.role != role or self.state is not state:
            raise RuntimeError(f"{role} call in state {self.state.value} as {self.role}")

    def _fail(self, reason: str) -> list[Action]:
        """Stop, and tell the peer why (sealed) so that both sides fail the same way."""
        self.state = State.FAILED
        told = [self._seal({"t": "abort", "reason": reason})] if self._sealer is not None else []
        return told + [Failed(reason)]
