"""The progress helper: drawn with a time estimate on a terminal, silent anywhere else; tick() reaches the innermost
tracked loop only."""

from __future__ import annotations

import io

from apps.progress import duration_text, say, tick, tracked


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_terminal_sees_counts_elapsed_time_and_an_estimate() -> None:
    screen, clock = Terminal(), Clock()
    with tracked(4, "training", "boosters", stream=screen, clock=clock):
        clock.now += 10
        tick()
        clock.now += 10
        tick()
    frames = screen.getvalue().split("\r")
    assert frames[1] == "training: 0/4 boosters (0%), 0 s elapsed\x1b[K"
    assert frames[2] == "training: 1/4 boosters (25%), 10 s elapsed, about 30 s left\x1b[K"
    assert frames[3] == "training: 2/4 boosters (50%), 20 s elapsed, about 20 s left\x1b[K"
    assert screen.getvalue().endswith("\n")  # the last line stays, the shell prompt starts below it


def test_redraws_are_limited_and_the_last_step_ends_the_line_at_once() -> None:
    screen, clock = Terminal(), Clock()
    with tracked(3, "evaluation", "boosters", stream=screen, clock=clock):
        tick()
        tick()  # same instant: not redrawn
        tick()  # the last: drawn, and the line ended, so what the program prints next starts below it
        assert screen.getvalue().endswith("evaluation: 3/3 boosters (100%), 0 s elapsed\x1b[K\n")
    frames = screen.getvalue().split("\r")
    assert [frame.split(" boosters")[0] for frame in frames[1:]] == ["evaluation: 0/3", "evaluation: 1/3",
                                                                     "evaluation: 3/3"]


def test_logs_pipes_and_tests_stay_quiet() -> None:
    log = io.StringIO()  # isatty() is False, as for a file, a pipe or pytest's capture
    with tracked(2, "training", "boosters", stream=log) as progress:
        tick()
        tick()
    assert progress is None and log.getvalue() == ""


def test_ticks_go_to_the_innermost_loop_and_nowhere_outside_one() -> None:
    outer, inner = Terminal(), Terminal()
    tick()  # nothing tracked: no error, nothing drawn
    with tracked(10, "outer", "steps", stream=outer) as counted:
        with tracked(2, "inner", "steps", stream=io.StringIO()):  # a silent inner level swallows its ticks
            tick()
        with tracked(2, "inner", "steps", stream=inner) as nested:
            tick()
        tick()
    assert (counted.done, nested.done) == (1, 1)
    assert "inner: 1/2" in inner.getvalue() and "outer: 1/10" in outer.getvalue()


def test_durations_read_as_a_person_says_them() -> None:
    assert [duration_text(s) for s in (0, 59.4, 65, 3725)] == ["0 s", "59 s", "1 min 05 s", "1 h 02 min"]


def test_say_prints_a_line_above_the_progress_line(capsys) -> None:  # type: ignore[no-untyped-def]
    screen, clock = Terminal(), Clock()
    with tracked(2, "evaluation", "boosters", stream=screen, clock=clock):
        tick()
        say("  held out DS1: 37 s")
    assert capsys.readouterr().out == "  held out DS1: 37 s\n"
    frames = screen.getvalue().split("\r")
    line = "evaluation: 1/2 boosters (50%), 0 s elapsed, about 0 s left\x1b[K"
    # the line is cleared before the text is printed and drawn again after it (then once more at the end)
    assert frames[-4:] == [line, "\x1b[K", line, line + "\n"]


def test_say_outside_a_tracked_loop_is_print(capsys) -> None:  # type: ignore[no-untyped-def]
    say("plain")
    assert capsys.readouterr().out == "plain\n"
