"""Exponential backoff delays: 0.1, 0.2, 0.4 ... capped at 5 s, back to the start after a success."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    initial_s: float = 0.1
    maximum_s: float = 5.0
    _next_s: float = 0.0

    def delay(self) -> float:
        self._next_s = min(self.maximum_s, self._next_s * 2 if self._next_s else self.initial_s)
        return self._next_s

    def reset(self) -> None:
        self._next_s = 0.0
