"""Progress and a time estimate for long loops (training, evaluation), on a terminal only.

    with tracked(total=36, what="training", unit="boosters"):
        ...
        tick()  # deep inside the loop, wherever one step ends

`tick()` advances the innermost `tracked` block of this context and does nothing outside one, so library
code can mark its steps without taking a parameter for it; `say(text)` prints a line without breaking the
progress line. The line is drawn on stderr only when stderr
is a terminal: logs, pipes, CI and notebooks stay as they were.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TextIO

REDRAW_EVERY_S = 0.25  # often enough to look alive, rarely enough to cost nothing
_ACTIVE: ContextVar[tuple[Progress | None, ...]] = ContextVar("progress", default=())  # None: a silent level


def duration_text(seconds: float) -> str:
    """12 s, 3 min 05 s, 1 h 02 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class Progress:
    total: int
    what: str
    unit: str
    stream: TextIO
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    started: float = field(init=False)
    _drawn_at: float = field(init=False, default=float("-inf"))
    _ended: bool = field(init=False, default=False)  # the line is complete and the cursor is below it

    def __post_init__(self) -> None:
        self.started = self.clock()

    def line(self) -> str:
        elapsed = self.clock() - self.started
        share = self.done / self.total if self.total else 1.0
        text = f"{self.what}: {self.done}/{self.total} {self.unit} ({share:.0%}), {duration_text(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", about {duration_text(elapsed / self.done * (self.total - self.done))} left"
        return text

    def advance(self, steps: int = 1) -> None:
        self.done = min(self.total, self.done + steps)
        now = self.clock()
        if self.done == self.total:
            self.finish()  # at once: what the program prints next starts on a line of its own
        elif now - self._drawn_at >= REDRAW_EVERY_S:
            self._draw()
            self._drawn_at = now

    def _draw(self) -> None:
        if self._ended:
            return
        self.stream.write(f"\r{self.line()}\x1b[K")  # \x1b[K: clear what a longer previous line left
        self.stream.flush()

    def finish(self) -> None:
        if self._ended:
            return
        self._draw()
        self.stream.write("\n")
        self.stream.flush()
        self._ended = True


def on_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


@contextmanager
def tracked(total: int, what: str, unit: str, stream: TextIO | None = None,
            clock: Callable[[], float] = time.monotonic) -> Iterator[Progress | None]:
    """Count `tick()`s against `total` and show them on `stream` (stderr) when it is a terminal."""
    stream = sys.stderr if stream is None else stream
    if not on_terminal(stream):
        token = _ACTIVE.set((*_ACTIVE.get(), None))  # a silent level: its ticks go nowhere
        try:
            yield None
        finally:
            _ACTIVE.reset(token)
        return
    progress = Progress(total, what, unit, stream, clock)
    progress._draw()
    token = _ACTIVE.set((*_ACTIVE.get(), progress))
    try:
        yield progress
    finally:
        _ACTIVE.reset(token)
        progress.finish()


def say(text: str) -> None:
    """print(text) without breaking a progress line on the terminal: clear it, print, draw it again below."""
    shown = [progress for progress in _ACTIVE.get() if progress is not None]
    if shown:
        shown[-1].stream.write("\r\x1b[K")
        shown[-1].stream.flush()
    print(text, flush=True)
    if shown:
        shown[-1]._draw()


def tick(steps: int = 1) -> None:
    """One step of the innermost tracked loop is done (nothing when none is tracked or it is silent)."""
    active = _ACTIVE.get()
    if active and active[-1] is not None:
        active[-1].advance(steps)
