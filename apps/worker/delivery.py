"""Get a batch's points into InfluxDB, and find exactly the points it refuses for good.

A point InfluxDB refuses (400/422: unparsable, older than the bucket's retention, a field type conflict)
fails the same way on every try, so retrying its batch would hold a write slot forever and, with every
slot held, stop the node. Instead:
- when InfluxDB's message names the lines ("unable to parse '<line>': <reason>"), those are refused and
  the rest of the batch is written again;
- when it counts points dropped for being older than the retention ("partial write: points beyond
  retention policy dropped=N"), they are the N oldest of the request: InfluxDB drops every point older
  than now - retention, and N points are older than a cut-off only if they are the N oldest (two points
  of the same time are both older or both not). Those are refused and the rest written again; should the
  rest be refused again (the cut-off moved on meanwhile), the same rules apply to it.
- when it only counts them for another reason, the batch is bisected: each half is written again, a half
  accepted is done, a half refused whole (dropped = its size) is refused, the others are split again,
  down to single points. k refused points among n cost about 2k log2(n) extra requests.
Writing accepted points again is harmless: a point is keyed by its series and sample time, so the second
write overwrites the first (whether InfluxDB kept the rest of the first request or not).
- 413 (too large) splits the batch in halves the same way; a single point too large is refused.
Any other failure is the caller's to retry: `send` retries until it succeeds or raises to give up.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.worker.influx import BatchTooLarge, PointsRefused


def deliver(lines: list[str], send: Callable[[list[str]], object]) -> dict[int, str]:
    """Write every line InfluxDB accepts; return index -> InfluxDB's reason for each line it refused."""
    refused: dict[int, str] = {}
    groups = [list(range(len(lines)))] if lines else []
    while groups:
        group = groups.pop()
        try:
            send([lines[i] for i in group])
        except BatchTooLarge as error:
            groups.extend(_halves(group, refused, str(error)))
        except PointsRefused as error:
            named = {group[i]: reason for i, reason in error.named.items()}
            if named:
                refused.update(named)
                rest = [i for i in group if i not in named]
                if rest:
                    groups.append(rest)
            elif error.dropped is not None and error.dropped >= len(group):
                refused.update((i, str(error)) for i in group)
            elif error.dropped and error.beyond_retention and (oldest := _oldest(group, lines, error.dropped)):
                refused.update((i, str(error)) for i in oldest)
                groups.append([i for i in group if i not in oldest])
            else:
                groups.extend(_halves(group, refused, str(error)))
    return refused


def _oldest(group: list[int], lines: list[str], count: int) -> set[int]:
    """The indices of the `count` oldest points (a line protocol line ends with its timestamp); empty if a
    line has no timestamp to compare."""
    try:
        stamps = {i: int(lines[i].rsplit(" ", 1)[1]) for i in group}
    except (IndexError, ValueError):
        return set()
    return set(sorted(group, key=stamps.__getitem__)[:count])


def _halves(group: list[int], refused: dict[int, str], reason: str) -> list[list[int]]:
    if len(group) == 1:
        refused[group[0]] = reason
        return []
    middle = len(group) // 2
    return [group[middle:], group[:middle]]  # popped from the end: the first half goes first
