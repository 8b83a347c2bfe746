"""put_newest: the newest item always goes in, the oldest ones make room, and the count of those dropped is exact."""
from __future__ import annotations

import queue

from live_classify.pipeline.queues import put_newest


def contents(q: queue.Queue) -> list[object]:
    return [q.get_nowait() for _ in range(q.qsize())]


def test_into_a_queue_with_room_nothing_is_dropped() -> None:
    q: queue.Queue = queue.Queue(maxsize=2)
    assert put_newest(q, "a") == 0
    assert put_newest(q, "b") == 0
    assert contents(q) == ["a", "b"]


def test_a_full_queue_drops_its_oldest_item_and_says_one() -> None:
    q: queue.Queue = queue.Queue(maxsize=2)
    q.put("a")
    q.put("b")
    assert put_newest(q, "c") == 1
    assert contents(q) == ["b", "c"]


class Contended(queue.Queue):
    """A queue another producer refills (``refills`` times) between our get and our put, and that
    another consumer empties (``stolen`` times) between our failed put and our get."""

    def __init__(self, refills: int, stolen: int) -> None:
        super().__init__(maxsize=1)
        self.refills, self.stolen = refills, stolen

    def get_nowait(self) -> object:
        if self.stolen:
            self.stolen -= 1
            super().get_nowait()  # the other consumer's
            raise queue.Empty
        item = super().get_nowait()
        if self.refills:
            self.refills -= 1
            super().put_nowait("theirs")
        return item


def test_each_item_dropped_is_counted_when_another_producer_refills_the_queue() -> None:
    q = Contended(refills=2, stolen=0)
    q.put("old")
    assert put_newest(q, "new") == 3  # "old", then "theirs" twice
    assert contents(q) == ["new"]


def test_an_item_taken_by_another_consumer_is_not_counted_as_dropped() -> None:
    q = Contended(refills=0, stolen=1)
    q.put("old")
    assert put_newest(q, "new") == 0
    assert contents(q) == ["new"]
