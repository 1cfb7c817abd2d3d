"""The session's recorder: wraps `emit` (every event passes through it) and is a session feature
(the chain-head exchange on "ctl", the /note command, the key count of a control period).

On the loop it only turns an event into an Item and queues it (microseconds); the Writer's
thread does the rest. The peer's chain heads arrive on "ctl" as
    {"t": "rec-head", "record": ID, "seq": N, "head": HEX, "final": bool, "yours": [N, HEX] | null}
every HEAD_INTERVAL while entries are added and once at the end ({"t": "rec-hello"} at the start
says that a side records, so the other waits for its last head); each is stored in our record,
so a record rewritten wholesale no longer matches the heads its peer kept."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rassist.errors import CommandError
from rassist.records.model import Item, RecordInfo, entry_for_event, now_ms
from rassist.records.screentext import SAMPLE
from rassist.records.termtext import TerminalText
from rassist.records.writer import Writer

if TYPE_CHECKING:  # send prints its code before WebRTC loads (tests/cli/test_startup.py)
    from aiortc import RTCPeerConnection

    from rassist.session import Emit, Session

HEAD_INTERVAL = 10.0
FIRST_HEAD = 5.0  # at most this long for the first entries to be written
MIN_HEAD_GAP = 1.0  # seconds between two of the peer's heads that we keep
FINAL_WAIT = 1.0  # how long the side that leaves waits for the peer's last head
MAX_NOTE = 4000
_HEX = re.compile(r"^[0-9a-f]{1,64}$")
_FINGERPRINT = re.compile(r"a=fingerprint:\S+ ([0-9A-Fa-f:]+)")
# Kinds that are bookkeeping: they alone do not make a new head worth sending.
_QUIET = frozenset({"peer-head"})


def new_record_id() -> str:
    return secrets.token_hex(6)


def session_link(pc: RTCPeerConnection) -> str:
    """The same id on both sides of one connection: a hash of both DTLS fingerprints."""
    import hashlib

    prints: list[str] = []
    for desc in (pc.localDescription, pc.remoteDescription):
        if desc is not None:
            prints += [p.upper() for p in _FINGERPRINT.findall(desc.sdp)]
    return hashlib.sha256("|".join(sorted(set(prints))).encode()).hexdigest()[:32] if prints else ""


def parse_head(msg: dict[str, Any]) -> tuple[str, int, str] | None:
    """(record, seq, head) from a peer's rec-head message, or None if it is malformed."""
    record, seq, head = msg.get("record"), msg.get("seq"), msg.get("head")
    if not (isinstance(record, str) and _HEX.match(record) and len(record) <= 32):
        return None
    if not (isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**53):
        return None
    if not (isinstance(head, str) and len(head) == 64 and _HEX.match(head)):
        return None
    return record, seq, head


class Recorder:
    """One record for one command (host, join, send or receive)."""

    def __init__(self, command: str, role: str, name: str, title: str = "", tags: list[str] | None = None,
                 ocr: Callable[[Path], str | None] | None = None,
                 writer_factory: Callable[..., Writer] = Writer) -> None:
        self.info = RecordInfo(id=new_record_id(), command=command, role=role, started=now_ms(),
                               title=title, tags=list(tags or []))
        self.name = name
        self.ocr = ocr
        self._writer_factory = writer_factory
        self.writer: Writer | None = None
        self._emit: Emit | None = None  # the emit we wrap: warnings go straight to it
        self._wrapper: Emit | None = None
        self.session: Session | None = None
        self._changed = False
        self._peer_head: tuple[int, str] | None = None
        self._final_sent = False
        self._peer_records = False
        self._last_peer_head = float("-inf")
        self._final_heard: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._sampler: asyncio.Task[None] | None = None
        self._ended = False
        self._input_seen = 0
        self._terminal_text = TerminalText()

    # ------------------------------------------------------------ events in

    def wrap(self, emit: Emit) -> Emit:
        """An emit that shows the event as before, then records it."""
        self._emit = emit

        def recording_emit(event: str, **fields: Any) -> None:
            emit(event, **fields)
            self.record_event(event, fields)

        self._wrapper = recording_emit
        return recording_emit

    def record_event(self, event: str, fields: dict[str, Any]) -> None:
        if event in ("record", "record-warning"):
            return  # our own announcements
        kept = entry_for_event(event, fields, self.name)
        if kept is None:
            return
        kind, data = kept
        summary: dict[str, Any] = {}
        snapshot = None
        if kind == "connected":
            summary["peer"] = str(fields.get("peer", ""))[:200]
            self.info.peer = summary["peer"]
        elif kind == "ended":
            if self._ended:
                return
            self._ended = True
            summary.update(ended=now_ms(), outcome=str(fields.get("reason", ""))[:100])
        elif kind == "snapshot" and isinstance(fields.get("path"), str):
            snapshot = Path(fields["path"])
            data = {"source": fields["path"], "width": fields.get("width"), "height": fields.get("height")}
        elif kind == "control" and fields.get("state") in ("revoked", "declined"):
            self._count_input()
        self.add(kind, data, summary, snapshot)

    def add(self, kind: str, data: dict[str, Any], summary: dict[str, Any] | None = None,
            snapshot: Path | None = None) -> None:
        if self._loop is None:
            with contextlib.suppress(RuntimeError):
                self._loop = asyncio.get_running_loop()
        if self.writer is None:
            self.writer = self._writer_factory(self.info, self._warn, ocr=self.ocr)
            self.writer.put(Item("start", {"command": self.info.command, "role": self.info.role,
                                           "name": self.name, "title": self.info.title,
                                           "tags": self.info.tags, "machine": socket.gethostname(),
                                           "version": _version()}, ts=self.info.started))
            self._say("record", id=self.info.id)
        self.writer.put(Item(kind, data, summary=summary or {}, snapshot=snapshot))
        if kind not in _QUIET:
            self._changed = True

    def close(self, reason: str = "") -> None:
        """At the very end of the command (also after errors): finish and flush the record."""
        if self.writer is None:
            return
        if not reason and self.session is not None:
            reason = self.session.outcome() or ""
        if not self._ended:
            self._ended = True
            self.writer.put(Item("ended", {"reason": reason or "unknown"},
                                 summary={"ended": now_ms(), "outcome": reason or "unknown"}))
        try:
            self.writer.close()
        except KeyboardInterrupt:  # a second Ctrl-C while the last entries are written
            self._warn(f"the record {self.info.id} may be incomplete (interrupted while saving)")

    # ------------------------------------------------------------ the session feature

    def prepare(self, pc: RTCPeerConnection, role: str) -> None:
        pass

    async def start(self, session: Session) -> None:
        """Also once per helper when helpers come one after another (`host --shell`): the
        peer's heads and hello are this session's."""
        self.session = session
        self._peer_head, self._final_sent, self._peer_records = None, False, False
        self._last_peer_head = float("-inf")
        owner = getattr(session, "session", session)  # a participant's events go through its session
        if owner.emit is not self._wrapper:  # the TUI: the CLI's Output is not in the path
            owner.emit = self.wrap(owner.emit)
        self._final_heard = asyncio.Event()
        link = session_link(session.pc)
        self.info.session = link
        self.add("link", {"session": link, "peer": session.peer_name}, {"session": link})
        session.ctl.on("rec-head", self._on_head)
        session.ctl.on("rec-hello", self._on_hello)
        session.ctl.send({"t": "rec-hello", "record": self.info.id})  # so the peer waits for our last head
        session.add_command("note", self._note_command)
        add_hook = getattr(session, "before_bye", None)
        if isinstance(add_hook, list):
            add_hook.append(self._last_head)
        self._task = asyncio.ensure_future(self._heads())
        recording = next((f for f in owner.features if getattr(f, "record", None) is not None
                          and getattr(f, "viewer", None) is not None), None)
        terminal = next((f for f in owner.features if hasattr(f, "emulator")), None)  # a shared shell
        if recording is not None and self.ocr is not None:
            self._sampler = asyncio.ensure_future(self._sample(recording))
        elif terminal is not None:
            self._sampler = asyncio.ensure_future(self._sample_terminal(terminal))

    async def stop(self) -> None:
        for task in (self._task, self._sampler):
            if task is not None:
                task.cancel()
        self._count_input()

    async def _sample(self, recording: Any) -> None:
        """The screen being recorded, offered for OCR now and then (scene changes are read)."""
        source = Path(str(recording.record)).name
        while True:
            await asyncio.sleep(SAMPLE)
            frame = recording.viewer.latest
            screen_text = self.writer.screen_text if self.writer is not None else None
            if frame is not None and screen_text is not None:
                screen_text.frame(frame, source)

    async def _sample_terminal(self, terminal: Any) -> None:
        """The shared terminal's text, as it settles (see termtext)."""
        while True:
            await asyncio.sleep(SAMPLE)
            emulator = terminal.emulator  # the joiner's exists from the first frame on
            if emulator is not None and (text := self._terminal_text.offer(emulator.lines())):
                self.add("screen-text", {"text": text, "source": "terminal"})

    def _count_input(self) -> None:
        """Keys and pointer events a controller sent: how many, never what."""
        if self.session is None:
            return
        owner = getattr(self.session, "session", self.session)  # every helper's, with several
        total = sum(f.received for f in owner.features
                    if isinstance(getattr(f, "received", None), int))
        if total > self._input_seen:
            self.add("input", {"events": total - self._input_seen, "stored": "count only"})
            self._input_seen = total

    async def _note_command(self, cmd: dict[str, Any]) -> None:
        text = cmd.get("note")
        if not isinstance(text, str) or not text.strip():
            raise CommandError('note takes text: {"note": "restarted the VPN client"} or /note text')
        assert self.session is not None
        self.session.emit("note", text=text[:MAX_NOTE], by=self.name)

    # ------------------------------------------------------------ without a session

    def direct_link(self, link: str, peer: str) -> None:
        """send/receive straight over TLS (no WebRTC session): `link` is the same on both
        sides (derived from the pairing key), so the two records find each other."""
        self.info.session = link
        self.add("link", {"session": link, "peer": peer}, {"session": link})

    async def final_head(self) -> dict[str, Any] | None:
        """Our last chain head as a rec-head message (for the direct lane's sealed channel)."""
        if self.writer is None:
            return None
        await asyncio.to_thread(self.writer.flush, 0.5)
        seq, head = self.writer.head
        if seq < 0:
            return None
        self._final_sent = True
        return {"t": "rec-head", "record": self.info.id, "seq": seq, "head": head, "final": True,
                "yours": list(self._peer_head) if self._peer_head else None}

    async def peer_final_head(self, msg: dict[str, Any]) -> None:
        """The peer's last head, received over the direct lane's sealed channel."""
        await self._on_head(msg)

    # ------------------------------------------------------------ chain heads

    async def _heads(self) -> None:
        if self.writer is not None:  # early, so the peer knows at once that we record
            await asyncio.to_thread(self.writer.flush, FIRST_HEAD)
        while True:
            if self._changed:
                await self._send_head(final=False)
            await asyncio.sleep(HEAD_INTERVAL)

    async def _send_head(self, final: bool) -> None:
        if self.session is None or self.writer is None:
            return
        await asyncio.to_thread(self.writer.flush, 0.5)  # the head should cover what was emitted
        seq, head = self.writer.head
        if seq < 0:
            return
        self._changed = False
        self.session.ctl.send({"t": "rec-head", "record": self.info.id, "seq": seq, "head": head,
                               "final": final, "yours": list(self._peer_head) if self._peer_head else None})

    async def _last_head(self) -> None:
        """Before our goodbye: our last head out, the peer's last head in (briefly)."""
        self._final_sent = True
        await self._send_head(final=True)
        if self._final_heard is not None and self._peer_records:  # only a peer that records answers
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._final_heard.wait(), FINAL_WAIT)

    def _on_hello(self, msg: dict[str, Any]) -> None:
        self._peer_records = True

    async def _on_head(self, msg: dict[str, Any]) -> None:
        parsed = parse_head(msg)
        if parsed is None:
            return
        record, seq, head = parsed
        final = msg.get("final") is True
        now = asyncio.get_running_loop().time()
        if (final and self._final_heard is not None and self._final_heard.is_set()) or \
                (not final and now - self._last_peer_head < MIN_HEAD_GAP):
            return  # a peer flooding heads does not get to fill our disk
        self._last_peer_head = now
        yours = msg.get("yours")
        confirms = yours if (isinstance(yours, list) and len(yours) == 2 and isinstance(yours[0], int)
                             and isinstance(yours[1], str) and _HEX.match(yours[1])) else None
        self._peer_head = (seq, head)
        self._peer_records = True
        self.add("peer-head", {"record": record, "seq": seq, "head": head, "final": final,
                               "confirms": confirms})
        if final:
            if self._final_heard is not None:
                self._final_heard.set()
            if not self._final_sent:  # the peer is leaving: answer with ours before it goes
                self._final_sent = True
                await self._send_head(final=True)

    # ------------------------------------------------------------ saying things

    def _say(self, event: str, **fields: Any) -> None:
        if self._emit is not None:
            self._emit(event, **fields)

    def _warn(self, message: str) -> None:
        """From the writer's thread: hand the warning to the loop (or stderr once it is gone)."""
        loop = self._loop
        if loop is not None and loop.is_running():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(lambda: self._say("record-warning", message=message))
                return
        import sys

        print(f"rassist: warning: {message}", file=sys.stderr)


def _version() -> str:
    # The package's version is this attribute (pyproject.toml); reading it from the installed
    # metadata instead would load importlib.metadata (~10 ms) on every start.
    from rassist import __version__

    return __version__
