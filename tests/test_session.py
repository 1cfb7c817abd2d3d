"""The Session on its own: two in-process peers, no rendezvous."""

import asyncio

from tests.sessions import close_sessions, session_pair


async def test_heartbeat_measures_round_trip_time():
    host, join, _, _ = await session_pair([], [], {"view"})
    runs = [asyncio.ensure_future(host.run()), asyncio.ensure_future(join.run())]
    for _ in range(50):
        if host.rtt is not None and join.rtt is not None:
            break
        await asyncio.sleep(0.1)
    assert host.rtt is not None and join.rtt is not None
    assert 0 < host.rtt < host.peer_timeout  # a plausible figure, not a speed requirement
    await close_sessions(host, join)
    for run in runs:
        run.cancel()


async def test_chat_reaches_the_other_side_and_close_ends_both():
    host, join, host_events, join_events = await session_pair([], [], {"view"})
    runs = [asyncio.ensure_future(host.run()), asyncio.ensure_future(join.run())]
    join.chat("hello")
    assert (await host_events.wait("chat"))["text"] == "hello"
    await join.close("quit")
    assert await asyncio.wait_for(runs[0], 10) == "peer-left"
    assert await asyncio.wait_for(runs[1], 10) == "quit"
