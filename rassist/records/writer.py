"""Writing one record from a worker thread, so no disk work ever runs on the event loop.

The loop calls put() (a queue append); the thread chains entries, copies snapshot files, runs
OCR and writes batches in one transaction each. A store that fails (locked, disk full, gone)
never reaches the session: the batch waits and is retried; past MAX_PENDING entries the oldest
are dropped and counted, and the next successful write records what was lost."""

from __future__ import annotations

import hashlib
import queue
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rassist.crypto import chain
from rassist.records.model import Entry, Item, RecordInfo, searchable
from rassist.records.screentext import ScreenText
from rassist.records.store import Store, StoreError, files_dir, open_store

MAX_PENDING = 10_000
BATCH = 500
RETRY = 1.0  # seconds between attempts while the store fails
Warn = Callable[[str], None]


@dataclass
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()


class Writer:
    def __init__(self, info: RecordInfo, warn: Warn, opener: Callable[[], Store] = open_store,
                 ocr: Callable[[Path], str | None] | None = None) -> None:
        self.info = info
        self.warn = warn
        self.opener = opener
        self.ocr = ocr
        self.head: tuple[int, str] = (-1, chain.genesis(info.id))  # last written (seq, hash): read by the loop
        self.lost: Counter[str] = Counter()
        self.failing: str | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: list[tuple[Item, str]] = []
        self._summary: dict[str, Any] = {}
        self._store: Store | None = None
        self._created = False
        self._snapshots = 0
        self._warned = False
        self.screen_text = ScreenText(ocr, self.put) if ocr is not None else None
        self._thread = threading.Thread(target=self._run, name=f"record-{info.id}", daemon=True)
        self._thread.start()

    def put(self, item: Item) -> None:
        self._queue.put(item)

    def flush(self, timeout: float) -> bool:
        """Block (in a thread, not on the loop) until everything put so far was tried."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Finish: screen text still being read (bounded by `timeout`), then every entry."""
        if self.screen_text is not None:
            self.screen_text.close(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive() or self._pending:
            count = len(self._pending) + sum(self.lost.values())
            self.warn(f"the record {self.info.id} is incomplete: {count} entries could not be saved "
                      f"({self.failing or 'the store is too slow'})")

    # ---------------------------------------------------------------- the thread

    def _run(self) -> None:
        stopping = False
        while not stopping:
            items = [self._queue.get()] if not self._pending else self._poll(RETRY)
            while len(items) < BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            flushes = []
            for item in items:
                if item is _STOP:
                    stopping = True
                elif isinstance(item, _Flush):
                    flushes.append(item)
                else:
                    self._take(item)
            self._write()
            for marker in flushes:
                marker.done.set()
        if self._pending:
            self._write()  # one last try
        if self._store is not None:
            self._store.close()

    def _poll(self, timeout: float) -> list[Any]:
        try:
            return [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []

    def _take(self, item: Item) -> None:
        self._summary.update(item.summary)
        extra: list[Item] = []
        if item.snapshot is not None:
            extra = self._keep_snapshot(item)
        for one in (item, *extra):
            self._pending.append((one, searchable(one.kind, one.data)))
        if len(self._pending) > MAX_PENDING:
            dropped, self._pending = self._pending[:-MAX_PENDING], self._pending[-MAX_PENDING:]
            self.lost.update(i.kind for i, _ in dropped)

    def _keep_snapshot(self, item: Item) -> list[Item]:
        """Copy the PNG beside the record and hash it; its text is read on the OCR thread."""
        source = item.snapshot
        assert source is not None
        self._snapshots += 1
        name = f"snapshot-{self._snapshots}.png"
        try:
            folder = files_dir(self.info.id)
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, folder / name)
            item.data.update(file=name, sha256=hashlib.sha256((folder / name).read_bytes()).hexdigest())
        except OSError as exc:
            item.data["error"] = f"not kept: {exc.strerror or exc}"
            return []
        if self.screen_text is not None:
            self.screen_text.snapshot(folder / name, name, item.ts)
        return []

    def _write(self) -> None:
        if not self._pending and not self._summary:
            return
        try:
            store = self._open()
            seq, prev = self.head
            batch: list[Entry] = []
            texts: list[str] = []
            pending = list(self._pending)
            if self.lost:
                lost = Item("lost", {"entries": sum(self.lost.values()), "kinds": dict(self.lost),
                                     "reason": self.failing or ""})
                pending.insert(0, (lost, ""))
            for item, text in pending:
                seq += 1
                prev = chain.entry_hash(prev, seq, item.ts, item.kind, item.data)
                batch.append(Entry(seq, item.ts, item.kind, item.data, prev))
                texts.append(text)
            try:
                store.append(self.info.id, batch, texts, self._summary)
            except StoreError:
                if not self._resync(store):
                    raise
                self._write()  # someone else appended (a note from `rassist tickets note`): chain after it
                return
        except (StoreError, OSError) as exc:
            self._failed(getattr(exc, "message", None) or str(exc))
            return
        self.head = (seq, prev)
        self._pending.clear()
        self._summary = {}
        self.lost.clear()
        if self.failing is not None:
            self.failing = None
            self.warn(f"the record {self.info.id} is being saved again")

    def _resync(self, store: Store) -> bool:
        """Move our head to the store's last entry if another writer got further; True if so."""
        last = store.last(self.info.id)
        if last is None or last[0] <= self.head[0]:
            return False
        self.head = last
        return True

    def _open(self) -> Store:
        if self._store is None:
            self._store = self.opener()
        if not self._created:
            self._store.create(self.info)
            self._created = True
        return self._store

    def _failed(self, message: str) -> None:
        if self._store is not None and not self._created:
            self._store.close()
            self._store = None
        first = self.failing is None
        self.failing = message
        if first and not self._warned:
            self._warned = True  # once: a session is not the place for a stream of store errors
            self.warn(f"cannot save the session record ({message}); the session goes on, "
                      "saving is retried")
        time.sleep(0)  # let the loop thread run; the retry waits in _poll
