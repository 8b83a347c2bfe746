"""The training's progress line: counts and time left; redrawn in place on a terminal, a line per
quarter to a log."""
from __future__ import annotations

import io

from live_classify.train.progress import Progress, left_text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_to_a_log_one_line_per_quarter_with_counts_and_time_left() -> None:
    log, now = io.StringIO(), [0.0]
    progress = Progress("features", 200, "images", log, clock=lambda: now[0])
    for done in range(16, 201, 16):  # 16 images a second: 200 in 12.5 s
        now[0] = done / 16
        progress.update(done)
    progress.finish()
    assert log.getvalue().splitlines() == ["features: 64/200 images (32%), 8 s left",
                                           "features: 112/200 images (56%), 6 s left",
                                           "features: 160/200 images (80%), 2 s left"]


def test_to_a_log_a_step_that_jumps_past_several_quarters_prints_one_line_not_one_per_update() -> None:
    """Big batches: 0 to 60% at once, then 70%, 80%, 90% (a line for 25%, 50% and 75% is owed at
    most once: 60% passed the first two, 80% the third)."""
    log, now = io.StringIO(), [0.0]
    progress = Progress("features", 10, "batches", log, clock=lambda: now[0])
    for done in (6, 7, 8, 9, 10):
        now[0] = float(done)
        progress.update(done)
    progress.finish()
    assert log.getvalue().splitlines() == ["features: 6/10 batches (60%), 4 s left",
                                           "features: 8/10 batches (80%), 2 s left"]


def test_on_a_terminal_the_line_is_redrawn_in_place_and_wiped_before_other_output() -> None:
    tty, now = Terminal(), [0.0]
    progress = Progress("training", 60, "epochs at most", tty, clock=lambda: now[0])
    for epoch in range(1, 4):
        now[0] = epoch * 0.5
        progress.update(epoch)
    progress.clear()
    drawn = tty.getvalue()
    assert drawn.count("\r\033[K") == 4 and "\n" not in drawn
    assert "training: 3/60 epochs at most (5%), 28 s left" in drawn and drawn.endswith("\r\033[K")


def test_time_left_reads_as_minutes_and_seconds() -> None:
    assert [left_text(s) for s in (0.4, 59, 185)] == ["0 s", "59 s", "3 min 5 s"]


def test_on_a_terminal_the_last_count_is_drawn_even_right_after_a_redraw() -> None:
    """The last update comes 10 ms after the one before: the line still ends on the full count."""
    tty, now = Terminal(), [0.0]
    progress = Progress("features", 2, "images", tty, clock=lambda: now[0])
    progress.update(1)
    now[0] = 0.01
    progress.update(2)
    assert tty.getvalue().endswith("features: 2/2 images (100%)")


def test_to_a_log_a_step_done_at_once_prints_no_line_and_an_empty_one_neither() -> None:
    """Its own line follows a step: no ``100%`` line before it; a step of nothing does not fail."""
    log = io.StringIO()
    Progress("features", 10, "batches", log, clock=lambda: 1.0).update(10)
    Progress("features", 0, "images", log, clock=lambda: 1.0).update(0)
    assert log.getvalue() == ""


def test_a_minute_left_reads_as_a_minute() -> None:
    assert [left_text(s) for s in (59.6, 60, 61)] == ["1 min 0 s", "1 min 0 s", "1 min 1 s"]


def test_on_a_terminal_updates_closer_than_a_tenth_of_a_second_are_not_all_drawn() -> None:
    """Fifty updates in one instant are one redraw; the next, 0.2 s later, is the second."""
    tty, now = Terminal(), [1.0]
    progress = Progress("features", 100, "images", tty, clock=lambda: now[0])
    for done in range(1, 51):
        progress.update(done)
    now[0] = 1.2
    progress.update(51)
    drawn = tty.getvalue().split("\r\033[K")[1:]
    assert [line.split(" (")[0] for line in drawn] == ["features: 1/100 images", "features: 51/100 images"]
