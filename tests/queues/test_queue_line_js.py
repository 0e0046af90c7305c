"""The waiting page's counting rule (static/js/queue-line.js) on frames as the server may send
them: changes before, inside and after a snapshot, repeated, out of order, or lost."""

from __future__ import annotations

from tests.queues.queue_line import page_after

MINE = [0, 20261125000042]


def snapshot(revision: int, position: int, waiting: int) -> dict[str, object]:
    return {
        "type": "snapshot",
        "status": "waiting",
        "key": MINE,
        "revision": revision,
        "position": position,
        "waiting": waiting,
    }


def queue(*changes: list[object]) -> dict[str, object]:
    return {"type": "queue", "changes": list(changes)}


AHEAD_LEFT = ["-", 0, 20261125000010]
BEHIND_JOINED = ["+", 0, 20261125000050]
PRIORITY_JOINED = ["+", 1, 20261125000060]


def test_a_change_the_snapshot_already_counts_is_not_counted_again():
    frames = [snapshot(11, 4, 20), queue([*AHEAD_LEFT, 11], [*BEHIND_JOINED, 12])]
    assert page_after(frames) == {"position": 4, "waiting": 21, "gap": False}


def test_changes_that_arrive_before_the_snapshot_count_only_if_newer():
    frames = [
        queue([*AHEAD_LEFT, 10], [*PRIORITY_JOINED, 11]),
        queue([*BEHIND_JOINED, 12]),
        snapshot(11, 5, 20),
    ]
    assert page_after(frames) == {"position": 5, "waiting": 21, "gap": False}


def test_a_change_after_the_snapshot_counts_once_even_if_repeated_or_out_of_order():
    frames = [
        snapshot(3, 6, 10),
        queue([*BEHIND_JOINED, 5]),
        queue([*AHEAD_LEFT, 4], [*BEHIND_JOINED, 5]),
    ]
    assert page_after(frames) == {"position": 5, "waiting": 10, "gap": False}


def test_a_later_snapshot_replaces_the_figures_and_keeps_newer_changes():
    frames = [
        snapshot(3, 6, 10),
        queue([*AHEAD_LEFT, 4], [*PRIORITY_JOINED, 5]),
        snapshot(4, 5, 9),  # counts revision 4, not yet 5
    ]
    assert page_after(frames) == {"position": 6, "waiting": 10, "gap": False}


def test_a_missing_revision_is_noticed():
    frames = [snapshot(3, 6, 10), queue([*AHEAD_LEFT, 5])]
    assert page_after(frames)["gap"] is True
    frames.append(queue([*BEHIND_JOINED, 4]))
    assert page_after(frames)["gap"] is False


def test_changes_without_revisions_still_count():
    frames = [snapshot(3, 6, 10), queue(AHEAD_LEFT)]
    assert page_after(frames) == {"position": 5, "waiting": 9, "gap": False}
