"""Exponential backoff delays with jitter: about 0.1, 0.2, 0.4 ... capped at 5 s, back to the start after a success.

Each delay is drawn between half and all of its step (equal jitter), so workers that failed together (an
InfluxDB restart seen by every edge node) do not all retry in the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial_s: float = 0.1
    maximum_s: float = 5.0
    _next_s: float = 0.0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def delay(self) -> float:
        self._next_s = min(self.maximum_s, self._next_s * 2 if self._next_s else self.initial_s)
        return self._next_s * self._random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._next_s = 0.0
