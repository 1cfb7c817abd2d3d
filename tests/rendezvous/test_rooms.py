import pytest
from hypothesis import given
from hypothesis import strategies as st

from rassist.rendezvous.rooms import NameplateTaken, NoSuchNameplate, Rooms


def test_one_claim_per_nameplate():
    rooms = Rooms()
    n = rooms.allocate("host")
    assert n == "1"
    assert rooms.claim(n, "joiner") == "host"
    with pytest.raises(NoSuchNameplate):
        rooms.claim(n, "attacker")


def test_release_tells_the_partner_and_frees_the_number():
    rooms = Rooms()
    n = rooms.allocate("host")
    rooms.claim(n, "joiner")
    assert rooms.release("joiner") == "host"
    assert rooms.partner == {}
    assert rooms.allocate("host2") == "2"  # "1" was just used: spent for a while (SPENT_KEEP)


def test_new_allocation_burns_the_old_one():
    rooms = Rooms()
    first = rooms.allocate("host")
    second = rooms.allocate("host")
    with pytest.raises(NoSuchNameplate):
        rooms.claim(first, "joiner") if first != second else rooms.claim("999", "joiner")


def test_wanted_nameplate():
    rooms = Rooms()
    assert rooms.allocate("a", "42") == "42"
    with pytest.raises(NameplateTaken):
        rooms.allocate("b", "42")


def test_random_nameplates_are_distinct():
    rooms = Rooms(random_nameplates=True)
    numbers = {rooms.allocate(i) for i in range(200)}
    assert len(numbers) == 200
    assert all(10 <= int(n) < 1000 for n in numbers)


def test_self_claim_refused():
    rooms = Rooms()
    n = rooms.allocate("host")
    with pytest.raises(NoSuchNameplate):
        rooms.claim(n, "host")


# ---------------------------------------------------------------- either side may start first

def test_a_claim_may_wait_for_a_preset_nameplate():
    rooms = Rooms()
    assert rooms.claim("7", "joiner", wait=True) is None
    assert rooms.allocate("host", "7") == "7"
    assert rooms.partner == {"host": "joiner", "joiner": "host"}
    assert "7" not in rooms.open and "7" not in rooms.waiting
    for second in ("attacker", "other"):  # used up: no second guess, waiting or not
        with pytest.raises(NoSuchNameplate):
            rooms.claim("7", second, wait=True)
    with pytest.raises(NameplateTaken):
        rooms.allocate("host2", "7")


def test_without_wait_an_unknown_nameplate_is_refused_at_once():
    rooms = Rooms()
    with pytest.raises(NoSuchNameplate):
        rooms.claim("7", "joiner")
    assert rooms.waiting == {}


def test_a_fresh_allocation_never_takes_an_awaited_nameplate():
    rooms = Rooms()
    rooms.claim("1", "joiner", wait=True)
    assert rooms.allocate("host") == "2"
    assert rooms.partner == {}
    random_rooms = Rooms(random_nameplates=True)
    for n in range(10, 1000):
        if n != 500:
            random_rooms.claim(str(n), f"j{n}", wait=True)
    assert random_rooms.allocate("host") == "500"


def test_one_waiter_per_nameplate_and_one_wait_per_connection():
    rooms = Rooms()
    rooms.claim("7", "joiner", wait=True)
    with pytest.raises(NoSuchNameplate):
        rooms.claim("7", "attacker", wait=True)
    with pytest.raises(NoSuchNameplate):
        rooms.claim("8", "joiner", wait=True)
    assert rooms.allocate("host", "7") == "7"
    assert rooms.partner["host"] == "joiner"


def test_a_waiter_that_leaves_is_forgotten():
    rooms = Rooms()
    rooms.claim("7", "joiner", wait=True)
    assert rooms.release("joiner") is None
    assert rooms.allocate("host", "7") == "7"
    assert rooms.partner == {} and rooms.open == {"7": "host"}


def test_a_failed_attempt_frees_the_nameplate_only_when_the_pair_is_gone():
    rooms = Rooms()
    rooms.claim("7", "joiner", wait=True)
    rooms.allocate("host", "7")
    assert rooms.allocate("host") != "7"  # wrong guess: the host moves on to a fresh code
    assert rooms.in_use == {} and rooms.partner == {}


@given(st.lists(st.tuples(st.sampled_from(["allocate", "want", "claim", "wait", "release"]),
                          st.sampled_from(["a", "b", "c", "d"]),
                          st.sampled_from(["1", "2", "3"])), max_size=40))
def test_bookkeeping_stays_consistent(ops):
    rooms = Rooms()
    for op, conn, nameplate in ops:
        before = dict(rooms.partner)
        try:
            if op == "allocate":
                rooms.allocate(conn)
            elif op == "want":
                rooms.allocate(conn, nameplate)
            elif op in ("claim", "wait"):
                rooms.claim(nameplate, conn, wait=op == "wait")
            else:
                rooms.release(conn)
        except NoSuchNameplate:
            assert rooms.partner == before  # a refused claim changes nothing
        except NameplateTaken:
            assert conn not in rooms.partner  # asking for a new nameplate ends the old pairing
        for x, y in rooms.partner.items():
            assert rooms.partner[y] == x and x != y
        assert not (rooms.open.keys() & rooms.waiting.keys())
        assert not (rooms.open.keys() & rooms.in_use.keys())
        assert {rooms.open[n] for n in rooms.open} == set(rooms.nameplate_of)
        assert {rooms.waiting[n] for n in rooms.waiting} == set(rooms.waits_for)
        assert not (set(rooms.waits_for) & set(rooms.partner))
        for n, host in rooms.in_use.items():
            assert rooms.used_by[host] == n and host in rooms.partner
        for x in rooms.partner.keys() - before.keys():  # a new pair used its nameplate up
            assert x not in rooms.nameplate_of and x not in rooms.waits_for


def test_a_used_nameplate_is_spent_for_a_while_and_not_handed_out_again():
    from rassist.rendezvous.rooms import SPENT_KEEP, NoSuchNameplate, Rooms

    now = [0.0]
    rooms = Rooms(clock=lambda: now[0])
    nameplate = rooms.allocate("host")
    assert rooms.claim(nameplate, "guesser") == "host"
    rooms.release("guesser")  # a wrong guess: both sides give up, the host asks for a new code
    fresh = rooms.allocate("host")
    assert fresh != nameplate  # the burned number is not reissued at once
    with pytest.raises(NoSuchNameplate) as caught:
        rooms.claim(nameplate, "late", wait=True)  # the right code, too late: told at once
    assert caught.value.used
    assert rooms.claim(fresh, "friend") == "host"
    now[0] += SPENT_KEEP + 1
    assert rooms.claim(nameplate, "much-later", wait=True) is None  # forgotten: waits as usual


def test_a_preset_code_may_ask_for_its_spent_number_again():
    from rassist.rendezvous.rooms import Rooms

    rooms = Rooms()
    rooms.allocate("host", "7")
    rooms.claim("7", "joiner")
    rooms.release("host")
    assert rooms.allocate("host2", "7") == "7"
    assert rooms.claim("7", "joiner2") == "host2"
