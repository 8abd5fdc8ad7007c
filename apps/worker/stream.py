"""The node's measurement stream, read through the consumer group: read, recover, claim, ack, dead-letter.

Every entry a consumer reads stays in the group's pending list until it is acknowledged, so an entry is
lost only if Redis loses it: a crashed worker's entries are read again by its successor (its own pending
list under the same consumer name, or XAUTOCLAIM once they have been idle for CLAIM_MIN_IDLE_MS).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from apps.contracts import CONSUMER_GROUP, MAX_ENTRY_BYTES, dead_letter_key, stream_key

Entry = tuple[bytes, dict[bytes, bytes]]  # (entry id, fields) as Redis returns them
LAG_PAGE = 1000  # undelivered entries counted exactly when Redis cannot tell the lag


@dataclass(frozen=True)
class DeadLetter:
    entry_id: bytes
    fields: dict[bytes, bytes]
    reason: str
    point: str = ""  # the prediction line InfluxDB refused, when it was the sink that refused the entry


def dead_letter_fields(letter: DeadLetter, stream: str) -> dict[str | bytes, str | bytes]:
    """The reason, where the entry came from, and a copy of its fields (prefixed: they can be anything),
    bounded to MAX_ENTRY_BYTES: a larger entry is cut, `truncated` says so and `entry_bytes` keeps its size."""
    fields: dict[str | bytes, str | bytes] = {"reason": letter.reason, "stream": stream, "entry_id": letter.entry_id}
    if letter.point:
        fields["point"] = letter.point[:MAX_ENTRY_BYTES]
    size = sum(len(name) + len(value) for name, value in letter.fields.items())
    room = MAX_ENTRY_BYTES
    for name, value in letter.fields.items():
        if len(name) + len(value) > room:
            if len(name) < room:
                fields[b"field:" + name] = value[:room - len(name)]
            break
        fields[b"field:" + name] = value
        room -= len(name) + len(value)
    fields["entry_bytes"] = str(size)
    fields["truncated"] = "yes" if size > MAX_ENTRY_BYTES else "no"
    return fields


class StreamConsumer:
    def __init__(self, client: redis.Redis, node: str, consumer: str, dead_letter_maxlen: int) -> None:
        self.client = client
        self.stream = stream_key(node)
        self.dead_letters = dead_letter_key(node)
        self.consumer = consumer
        self.dead_letter_maxlen = dead_letter_maxlen
        self._claim_cursor: bytes | str = "0-0"

    def ensure_group(self) -> None:
        """Create the group (and the stream) if missing; it starts at the stream's first entry so that
        entries sent before the first worker started are not skipped."""
        try:
            self.client.xgroup_create(self.stream, CONSUMER_GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def read_new(self, count: int, block_ms: int) -> list[Entry]:
        reply = self.client.xreadgroup(CONSUMER_GROUP, self.consumer, {self.stream: ">"}, count=count, block=block_ms)
        return _entries(reply)

    def read_own_pending(self, count: int) -> list[Entry]:
        """Entries this consumer name was given but never acknowledged (a previous life of this worker)."""
        pending: list[Entry] = []
        cursor: bytes | str = "0"
        while True:
            reply = _entries(self.client.xreadgroup(CONSUMER_GROUP, self.consumer, {self.stream: cursor}, count=count))
            if not reply:
                return pending
            pending.extend(entry for entry in reply if entry[1])
            self.ack(entry_id for entry_id, fields in reply if not fields)  # trimmed away meanwhile: nothing to do
            cursor = reply[-1][0]

    def claim_idle(self, min_idle_ms: int, count: int) -> list[Entry]:
        """Take over entries another (dead) consumer left pending for at least min_idle_ms; one page per call."""
        reply = self.client.xautoclaim(self.stream, CONSUMER_GROUP, self.consumer, min_idle_ms,
                                       start_id=self._claim_cursor, count=count)
        self._claim_cursor = reply[0]
        return [(entry_id, fields) for entry_id, fields in reply[1] if fields]

    def ack(self, entry_ids: Iterable[bytes]) -> None:
        ids = list(entry_ids)
        if ids:
            self.client.xack(self.stream, CONSUMER_GROUP, *ids)

    def entries(self, entry_ids: list[bytes]) -> dict[bytes, dict[bytes, bytes]]:
        """The fields of these entries (one pipelined XRANGE each); an entry trimmed away meanwhile is absent."""
        pipe = self.client.pipeline(transaction=False)
        for entry_id in entry_ids:
            pipe.xrange(self.stream, entry_id, entry_id)
        return {found[0][0]: found[0][1] for found in pipe.execute() if found}

    def dead_letter(self, letters: list[DeadLetter]) -> None:
        """Copy each bad entry with its reason to the dead-letter stream and acknowledge it, atomically."""
        if not letters:
            return
        pipe = self.client.pipeline(transaction=True)
        for letter in letters:  # trimmed approximately (redis-py's default): whole nodes, cheaply
            pipe.xadd(self.dead_letters, dead_letter_fields(letter, self.stream),  # type: ignore[arg-type]
                      maxlen=self.dead_letter_maxlen)
        pipe.xack(self.stream, CONSUMER_GROUP, *(letter.entry_id for letter in letters))
        pipe.execute()

    def backlog(self) -> tuple[int, int, int]:
        """(lag: entries not yet delivered to the group; pending: delivered but unacknowledged; entries ever
        added to the stream)."""
        info = self.client.xinfo_stream(self.stream)
        added = int(info["entries-added"])
        group = self._group()
        if group is None:
            return int(info["length"]), 0, added
        lag = group["lag"]
        if lag is None:
            lag = self._count_lag(group["last-delivered-id"], info)
        return int(lag), int(group["pending"]), added

    def trim_acknowledged(self, maxlen: int) -> int:
        """Keep the stream near `maxlen` entries by trimming its oldest ones, but only those the group has
        acknowledged: never past the oldest pending entry or the group's read position, so no sample is lost
        however far behind the worker is. Returns how many entries Redis removed."""
        info = self.client.xinfo_stream(self.stream)
        length = int(info["length"])
        group = self._group()
        if length <= maxlen or group is None:
            return 0
        safe = _id(group["last-delivered-id"])
        pending = self.client.xpending(self.stream, CONSUMER_GROUP)
        if pending["pending"]:
            safe = min(safe, _id(pending["min"]))
        # where about `maxlen` entries remain, from the ids' times (vehicles send at a steady rate)
        first_ms, last_ms = _id_ms(info["first-entry"][0]), _id_ms(info["last-generated-id"])
        cut = (first_ms + (last_ms - first_ms) * (length - maxlen) // length, 0)
        keep_from = min(safe, cut)
        # approximately (redis-py's default): whole nodes of entries, never one at or after keep_from
        return int(self.client.xtrim(self.stream, minid=f"{keep_from[0]}-{keep_from[1]}"))

    def _group(self) -> dict | None:
        """The worker's group as XINFO GROUPS describes it; None before a worker created it."""
        return next((group for group in self.client.xinfo_groups(self.stream)
                     if group["name"] == CONSUMER_GROUP.encode()), None)

    def _count_lag(self, last_delivered: bytes, info: dict) -> int:
        """The lag when Redis cannot tell: after a restart from its append-only file the group's read counter is
        lost until the group reaches the stream's end. Up to LAG_PAGE undelivered entries are counted exactly;
        beyond, the lag is estimated from the entry ids' times (vehicles send at a steady rate)."""
        after = self.client.xrange(self.stream, min=f"({last_delivered.decode()}", count=LAG_PAGE)
        if len(after) < LAG_PAGE:
            return len(after)
        first_ms, last_ms = _id_ms(after[0][0]), _id_ms(info["last-generated-id"])
        span_ms = max(1, last_ms - _id_ms(info["first-entry"][0]))
        return max(LAG_PAGE, round(int(info["length"]) * (last_ms - first_ms) / span_ms))


def _id(entry_id: bytes) -> tuple[int, int]:
    milliseconds, sequence = entry_id.decode().split("-")
    return int(milliseconds), int(sequence)


def _id_ms(entry_id: bytes) -> int:
    return _id(entry_id)[0]


def _entries(reply: object) -> list[Entry]:
    if not reply:
        return []
    return list(reply[0][1])  # type: ignore[index]  # RESP2: [[stream, [(id, fields), ...]]]
