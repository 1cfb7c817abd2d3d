import pytest

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
    assert rooms.allocate("host2") == "1"


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
