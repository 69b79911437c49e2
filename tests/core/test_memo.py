"""amends.core.memo.PerObject: an answer per object and key, made once, never another's."""

from __future__ import annotations

from amends.core.memo import PerObject


class Owner:
    pass


def test_an_answer_is_made_once_per_object_and_key() -> None:
    memo: PerObject[str] = PerObject(size=8)
    calls: list[str] = []
    one, two = Owner(), Owner()

    def make(label: str) -> str:
        calls.append(label)
        return label

    assert memo.get(one, "a", lambda: make("one-a")) == "one-a"
    assert memo.get(one, "a", lambda: make("again")) == "one-a"
    assert memo.get(two, "a", lambda: make("two-a")) == "two-a"
    assert memo.get(one, "b", lambda: make("one-b")) == "one-b"
    assert calls == ["one-a", "two-a", "one-b"]


def test_a_new_object_at_a_freed_objects_id_gets_its_own_answer() -> None:
    memo: PerObject[str] = PerObject(size=8)
    first = Owner()
    memo.get(first, "k", lambda: "first")
    # The entry holds the object, so its id cannot be reused while the entry lives; a hit
    # is checked by identity, so a stranger put at that key is not answered.
    memo._entries[(id(first), "k")] = (Owner(), "a stranger's")
    assert memo.get(first, "k", lambda: "first again") == "first again"


def test_it_is_cleared_when_full() -> None:
    memo: PerObject[int] = PerObject(size=2)
    owners = [Owner() for _ in range(3)]
    for n, owner in enumerate(owners):
        memo.get(owner, "k", lambda n=n: n)  # type: ignore[misc]
    assert len(memo) == 1
    assert memo.get(owners[2], "k", lambda: 99) == 2
