"""The resume handshake, sans I/O: sealed bodies in, actions out.

aiortc has no ICE restart, so a session whose path died resumes with a fresh peer connection.
The two sides find each other again at a rendezvous mailbox derived from the pairing key
(crypto/resume.py) and swap one sealed offer and one sealed answer:

    Host (offers)                               Joiner (waits)
    meet mailbox(n)                             meet mailbox(n) [and mailbox(n-1), see below]
    sealed offer {gen n, nonce, sdp, ack, granted} -->
                         <--  sealed answer {gen n, echo nonce, sdp, ack}

Generations. Each side keeps the last generation it committed (0 after pairing). The joiner
commits n when it answers, the host when that answer arrives, so the host is never ahead and
the joiner is ahead by one at most (its answer was lost on the way). Hence:
- the host always offers n = its generation + 1, at mailbox(n);
- the joiner waits at mailbox(g + 1) and, once it has resumed at all, at mailbox(g) too; it
  accepts an offer for g + 1, or for g with a nonce it has not answered yet (the host never
  got that answer and asks again). Anything older is stale and refused; an offer it answered
  already is a replay and refused.
- the host accepts only the answer that echoes the nonce of its current offer: an old answer
  (or one for another attempt) is refused.
A refused message ends that attempt only: the driver leaves the mailbox and meets again.

The offer also carries what must be re-established: the host's cumulative ack of reliable
control messages (protocol/reliable.py) and the permissions the joiner still holds (the host
is authoritative; the joiner never grants itself anything). The answer carries the joiner's ack.
"""

from __future__ import annotations

import enum
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from rassist.crypto.resume import ResumeSealError, mailbox_id, open_sealed, seal
from rassist.protocol.jsonwire import loads
from rassist.protocol.permissions import PERMISSIONS

VERSION = 1
MAX_SDP = 32_000             # sealed and base64'd it must fit one rendezvous frame (64 KiB)
MAX_ACK = 2**53
MAX_ANSWERED = 8             # offer nonces the joiner remembers for its current generation
_NONCE = re.compile(r"[0-9a-f]{32}")
Role = Literal["host", "join"]


@dataclass(frozen=True)
class Send:
    """Relay these bytes to the peer (through the mailbox)."""
    body: bytes


@dataclass(frozen=True)
class PeerSdp:
    """The peer's offer (for the joiner) or answer (for the host), and what it tells us."""
    type: str
    sdp: str
    ack: int                                # its cumulative ack of our reliable messages
    granted: tuple[str, ...] = ()           # offer only: what the joiner may still do


@dataclass(frozen=True)
class Resumed:
    """This side committed `generation`: the next resume uses the next one."""
    generation: int


@dataclass(frozen=True)
class Refused:
    """A stale, replayed, forged or malformed message: this attempt is over (meet again)."""
    reason: str


Action = Send | PeerSdp | Resumed | Refused


@dataclass
class ResumeState:
    """What one side keeps for the whole session (one per peer on a host)."""

    secret: bytes
    role: Role
    generation: int = 0                                    # the last one committed
    answered: list[str] = field(default_factory=list)      # join: nonces answered in `generation`

    def generations(self) -> list[int]:
        """The generations to meet at, in order of likelihood."""
        if self.role == "host":
            return [self.generation + 1]
        return [self.generation + 1] + ([self.generation] if self.generation >= 1 else [])

    def mailbox(self, generation: int) -> str:
        return mailbox_id(self.secret, generation)

    def handshake(self, generation: int) -> Handshake:
        if generation not in self.generations():
            raise ValueError(f"generation {generation} is not one to meet at now ({self.generations()})")
        return Handshake(self, generation)

    def _commit(self, generation: int, nonce: str) -> None:
        if generation > self.generation:
            self.generation = generation
            self.answered = []
        if self.role == "join":
            self.answered = (self.answered + [nonce])[-MAX_ANSWERED:]


class Step(enum.Enum):
    START = "start"                # host: offer to send; joiner: offer to arrive
    AWAIT_ANSWER = "await-answer"  # host: offer sent
    ANSWERING = "answering"        # joiner: offer accepted, answer to send
    DONE = "done"
    FAILED = "failed"


class Handshake:
    """One attempt to resume at one generation (one mailbox)."""

    def __init__(self, state: ResumeState, generation: int) -> None:
        self.state = state
        self.generation = generation
        self.step = Step.START
        self._nonce = ""

    @property
    def mailbox(self) -> str:
        return self.state.mailbox(self.generation)

    def offer(self, sdp: str, ack: int, granted: tuple[str, ...], nonce: str | None = None) -> list[Action]:
        """Host: seal our offer."""
        self._require("host", Step.START)
        self._nonce = nonce or secrets.token_hex(16)
        self.step = Step.AWAIT_ANSWER
        return [self._seal({"t": "resume-offer", "nonce": self._nonce, "sdp": sdp, "ack": ack,
                            "granted": [p for p in granted if p in PERMISSIONS]})]

    def answer(self, sdp: str, ack: int) -> list[Action]:
        """Joiner: seal our answer to the offer just accepted; commits the generation."""
        self._require("join", Step.ANSWERING)
        self.step = Step.DONE
        self.state._commit(self.generation, self._nonce)
        return [self._seal({"t": "resume-answer", "echo": self._nonce, "sdp": sdp, "ack": ack}),
                Resumed(self.generation)]

    def receive(self, body: bytes) -> list[Action]:
        role = self.state.role
        expecting = (role == "host" and self.step is Step.AWAIT_ANSWER) or \
                    (role == "join" and self.step is Step.START)
        if not expecting:
            return self._refuse(f"unexpected message in step {self.step.value}")
        sender = "join" if role == "host" else "host"
        try:
            msg = loads(open_sealed(self.state.secret, self.generation, sender, body))
        except ResumeSealError as exc:
            return self._refuse(str(exc))
        except ValueError:
            return self._refuse("sealed resume message is not JSON")
        problem = _malformed(msg, "resume-answer" if role == "host" else "resume-offer")
        if problem:
            return self._refuse(problem)
        if msg["gen"] != self.generation or msg["from"] != sender:
            return self._refuse("resume message for another generation or from the wrong side")
        if role == "host":
            if msg["echo"] != self._nonce:
                return self._refuse("answer to another offer (replayed)")
            self.step = Step.DONE
            self.state._commit(self.generation, self._nonce)
            return [PeerSdp("answer", msg["sdp"], msg["ack"]), Resumed(self.generation)]
        if self.generation <= self.state.generation and msg["nonce"] in self.state.answered:
            return self._refuse(f"offer for generation {self.generation} answered already (replayed)")
        if self.generation < self.state.generation:
            return self._refuse(f"stale generation {self.generation} (now at {self.state.generation})")
        self._nonce = msg["nonce"]
        self.step = Step.ANSWERING
        granted = tuple(p for p in msg["granted"] if p in PERMISSIONS)
        return [PeerSdp("offer", msg["sdp"], msg["ack"], granted)]

    def _seal(self, fields: dict[str, Any]) -> Send:
        body = {**fields, "v": VERSION, "gen": self.generation, "from": self.state.role}
        plaintext = json.dumps(body, separators=(",", ":")).encode()
        return Send(seal(self.state.secret, self.generation, self.state.role, plaintext))

    def _require(self, role: Role, step: Step) -> None:
        if self.state.role != role or self.step is not step:
            raise RuntimeError(f"{role} call in step {self.step.value} as {self.state.role}")

    def _refuse(self, reason: str) -> list[Action]:
        self.step = Step.FAILED
        return [Refused(reason)]


def _malformed(msg: Any, kind: str) -> str | None:
    """Why a decoded message is not a well-formed `kind`, or None."""
    if not isinstance(msg, dict) or msg.get("t") != kind:
        return f"not a {kind}"
    if type(msg.get("v")) is not int or msg.get("v") != VERSION:  # True == 1 is no version
        return f"resume protocol version {msg.get('v')!r}, we speak {VERSION}"
    gen, ack, sdp = msg.get("gen"), msg.get("ack"), msg.get("sdp")
    if not _count(gen, 2**31) or not _count(ack, MAX_ACK):
        return "generation or ack is not a small non-negative integer"
    if msg.get("from") not in ("host", "join"):
        return "sender is not host or join"
    if not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP:
        return "session description missing or too large"
    nonce = msg.get("nonce" if kind == "resume-offer" else "echo")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        return "nonce is not 32 hex digits"
    if kind == "resume-offer":
        granted = msg.get("granted")
        if not isinstance(granted, list) or len(granted) > len(PERMISSIONS) or \
                not all(isinstance(p, str) for p in granted):
            return "granted is not a list of permissions"
    return None


def _count(value: Any, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < limit
