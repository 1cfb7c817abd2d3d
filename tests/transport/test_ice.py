"""ICE on aioice (transport/ice.py): connect() returns as soon as the check list is done, not at
the end of its pause between two checks; failure and close still end it with an error."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import types

import pytest
from aioice import Connection
from aioice import ice as aioice_ice

from rassist.transport import ice


def test_aioice_connect_is_the_one_copied():
    # rassist/transport/ice.connect is aioice 0.13's Connection.connect with one change: a new
    # aioice must be read again (and this digest updated) before the copy stands in for it.
    source = inspect.getsource(aioice_ice.Connection.connect)
    assert hashlib.sha256(source.encode()).hexdigest() == (
        "da51be46190141ee23c03ab8d77c030b45e412b6430369790ba4665a7a7886d2"), source


async def _pair(*, answer: bool = True) -> tuple[Connection, Connection]:
    """Two connections on this machine's addresses, ours to connect(); `answer`: b's candidates
    reach a (else a has none, as when the peer sent nothing it can reach)."""
    a = Connection(ice_controlling=True, components=1, use_ipv6=False)
    b = Connection(ice_controlling=False, components=1, use_ipv6=False)
    for conn in (a, b):
        conn.connect = types.MethodType(ice.connect, conn)
        await conn.gather_candidates()
    for mine, theirs in ((a, b), (b, a)):
        mine.remote_username, mine.remote_password = theirs.local_username, theirs.local_password
        if answer or mine is b:
            for candidate in theirs.local_candidates:
                await mine.add_remote_candidate(candidate)
        await mine.add_remote_candidate(None)
    return a, b


async def test_connect_returns_when_the_check_list_completes(monkeypatch):
    monkeypatch.setattr(ice, "PACING", 60.0)  # only the check list's end can end the pause now
    a, b = await _pair()
    try:
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 20)
        await a.send(b"ping")
        assert await asyncio.wait_for(b.recv(), 5) == b"ping"
    finally:
        await a.close()
        await b.close()


async def test_connect_fails_without_a_candidate_pair():
    a, b = await _pair(answer=False)
    try:
        with pytest.raises(ConnectionError, match="ICE negotiation failed"):
            await asyncio.wait_for(a.connect(), 20)
    finally:
        await a.close()
        await b.close()


async def test_close_ends_a_waiting_connect(monkeypatch):
    monkeypatch.setattr(ice, "PACING", 60.0)
    a, b = await _pair()
    b.remote_password = "wrong"  # b's checks are refused: a's check list never completes alone
    a.remote_password = "wrong"
    task = asyncio.ensure_future(a.connect())
    await asyncio.sleep(0.2)
    assert not task.done()
    await a.close()
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(task, 5)
    await b.close()
